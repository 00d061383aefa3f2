from fastapi.testclient import TestClient

from talktrack.api.app import create_app
from talktrack.settings import Settings
from talktrack.telephony import twilio_webhook

FORM = {"CallSid": "CA1", "From": "+13125550142", "To": "+13125550100"}


def client(tmp_path, **overrides) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **overrides)))


def test_voice_webhook_connects_the_call_to_our_stream_with_parameters(tmp_path):
    response = client(tmp_path).post(
        "/telephony/twilio/voice?agent_id=backbeam&prospect_name=Dana%20Whitfield", data=FORM
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    body = response.text
    assert '<Connect><Stream url="ws://testserver/telephony/twilio/stream">' in body
    assert '<Parameter name="agent_id" value="backbeam"/>' in body
    assert '<Parameter name="prospect_name" value="Dana Whitfield"/>' in body


def test_signature_matches_the_official_twilio_sdk():
    from twilio.request_validator import RequestValidator

    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030"}
    ours = twilio_webhook.signature(url, params, "12345")
    assert RequestValidator("12345").validate(url, params, ours)
    assert twilio_webhook.signature_ok(url, params, "12345", ours)
    assert not twilio_webhook.signature_ok(url, {**params, "Digits": "9"}, "12345", ours)


def test_forged_or_missing_signatures_get_403_and_a_valid_one_passes(tmp_path):
    app = client(tmp_path, twilio_auth_token="secret", public_url="https://agent.example.com")
    url = "https://agent.example.com/telephony/twilio/voice"
    assert app.post("/telephony/twilio/voice", data=FORM).status_code == 403
    forged = {"X-Twilio-Signature": twilio_webhook.signature(url, FORM, "wrong")}
    assert app.post("/telephony/twilio/voice", data=FORM, headers=forged).status_code == 403
    good = {"X-Twilio-Signature": twilio_webhook.signature(url, FORM, "secret")}
    response = app.post("/telephony/twilio/voice", data=FORM, headers=good)
    assert response.status_code == 200
    assert 'url="wss://agent.example.com/telephony/twilio/stream"' in response.text


def test_twiml_escapes_parameter_values():
    twiml = twilio_webhook.connect_stream_twiml("wss://x/s", {"company": 'Smith & "Sons" <Ltd>'})
    assert "value='Smith &amp; \"Sons\" &lt;Ltd&gt;'" in twiml
