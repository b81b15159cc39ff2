import pytest

from tickets.masking import mask_secrets

RECOVERY_PHRASE = (
    "abandon ability able about above absent absorb abstract absurd abuse access accident"
)


@pytest.mark.parametrize(
    "text,kind,masked,kept",
    [
        ("我的卡号 6222 0212 3456 7890 128 提现失败", "card", "**** **** **** 0128", "6222"),
        ("card 4111-1111-1111-1111 was charged", "card", "**** **** **** 1111", "4111-"),
        ("卡号4111111111111111", "card", "**** **** **** 1111", "411111"),
        ("验证码是 123456，能帮我吗", "code", "验证码是 ******", "123456"),
        ("my code is 654321", "code", "******", "654321"),
        ("654321 is my code", "code", "******", "654321"),
        ("OTP: 987654", "code", "OTP: ******", "987654"),
        ("登录密码是abc12345，请帮我", "password", "密码是********", "abc12345"),
        ("password: hunter22", "password", "password: ********", "hunter22"),
        ("my password is Secret!23 please", "password", "password is ********", "Secret!23"),
        ("私钥 0x" + "ab" * 32, "private_key", "[private key removed]", "abab"),
        (
            f"my words: {RECOVERY_PHRASE}.",
            "recovery_phrase",
            "[recovery phrase removed]",
            "abandon",
        ),
    ],
)
def test_secrets_are_masked(text, kind, masked, kept):
    result = mask_secrets(text)
    assert kind in result.found
    assert masked in result.text
    assert kept not in result.text


@pytest.mark.parametrize(
    "text",
    [
        "订单号 6222021234567890128",  # Luhn-valid, but labelled as an order number
        "order 202311240001234567",
        "transaction ref 4111111111111111",
        "phone 13812345678, amount 1,234.56 yuan on 2024-01-15",
        "转账 100000 元，金额 ¥123456",
        "卡号 6222 0212 3456 7890 129",  # fails the Luhn check: a typo, not a card
        "订单 123456 已付款",
        "I forgot my password and need a reset",
        "登录密码错误三次，账户被锁",
        "The app says code error after update",
        "abandon ability able about above absent",  # six words are a sentence, not a phrase
        "commit 3f2a9c1e",
    ],
)
def test_ordinary_text_stays_untouched(text):
    result = mask_secrets(text)
    assert result.text == text
    assert result.found == []


def test_several_secrets_are_all_reported_once_each():
    result = mask_secrets("卡 4111111111111111 和 4012888888881881，验证码 123456")
    assert result.found == ["card", "code"]
    assert "4012" not in result.text
