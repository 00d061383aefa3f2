"""Reciprocal-rank fusion."""

from __future__ import annotations

from talktrack.knowledge.retrieval import RRF_K, fuse, spelled_out


def test_an_item_high_in_both_rankings_wins() -> None:
    fused = fuse([["a", "b", "c"], ["b", "d", "a"]])
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == 1 / (RRF_K + 2) + 1 / (RRF_K + 1)


def test_ties_keep_the_first_rankings_order_and_empty_rankings_are_fine() -> None:
    assert [item for item, _ in fuse([["x", "y"], []])] == ["x", "y"]
    assert [item for item, _ in fuse([["x"], ["y"]])] == ["x", "y"]
    assert fuse([[], []]) == []


def test_spelled_out_finds_acronyms_by_initials() -> None:
    found = spelled_out(
        ["Every customer can sign our Data Processing Agreement.", "Keys sit in Key Management Service."]
    )
    assert found["DPA"] == "Data Processing Agreement"
    assert found["KMS"] == "Key Management Service"
    assert "ECC" not in found  # "Every customer can" is not a title-case phrase
