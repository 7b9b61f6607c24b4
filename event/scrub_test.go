package event

import (
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	cases := []struct{ in, want string }{
		// unchanged
		{"", ""},
		{"Add to cart", "Add to cart"},
		{"Price: 129.90 EUR, 2 items, year 2026", "Price: 129.90 EUR, 2 items, year 2026"},
		{"12345678", "12345678"}, // 8 digits
		{"order_123456789", "order_123456789"},
		{"user123456789", "user123456789"},
		{"550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"0195510a-3c4e-7b7e-8f1a-201234567890", "0195510a-3c4e-7b7e-8f1a-201234567890"},
		{"pi is 3.14159265358979", "pi is 3.14159265358979"},
		{"1,234,567,890 visits", "1,234,567,890 visits"},
		{"2026-03-01 12:30:00", "2026-03-01 12:30:00"},
		{"2026-03-01T12:30:00.123456789Z", "2026-03-01T12:30:00.123456789Z"},
		{"@handle and a@b", "@handle and a@b"},
		{"not-an-email@localhost", "not-an-email@localhost"},
		{"x@y.c0m", "x@y.c0m"},
		{"ab-123456789", "ab-123456789"}, // run joined to a word by one dash

		// emails
		{"jane@example.com", MaskEmail},
		{"Contact: Jane.Doe+news@mail.example.co.uk.", "Contact: [email]."},
		{"a@b.io, c_d@e-f.org", "[email], [email]"},
		{"0@0.AA%@0.AA", "[email][email]"}, // found by FuzzScrub: masks must not join a later match
		{"123456789@example.com", MaskEmail},
		{"mailto:jane@example.com?subject=hi", "mailto:[email]?subject=hi"},

		// cards
		{"4111111111111111", MaskCard},
		{"card 4111 1111 1111 1111 exp", "card [card] exp"},
		{"4111-1111-1111-1111", MaskCard},
		{"378282246310005", MaskCard},              // Amex, 15 digits
		{"4111111111111112", MaskNumber},           // fails Luhn, still a long run
		{"6011000990139424!", "[card]!"},           // Discover
		{"4111  1111 1111 1111", "4111  [number]"}, // two spaces break the run: 4 + 12 digits

		// long digit runs
		{"123456789", MaskNumber},
		{"SSN 123-45-6789.", "SSN [number]."},
		{"call +1 555 123 4567 now", "call +[number] now"},
		{"(555) 123-4567", "(555) 123-4567"}, // 3 + 7 digits
		{"id:987654321", "id:[number]"},
		{"a 123456789 b 987654321", "a [number] b [number]"},
		{"ab--123456789", "ab--[number]"},
		{"000000000 0@0.AA", "[number] [email]"}, // found by FuzzScrub
		{"room a1 123456789", "room a1 [number]"},
		{"123456789 0x", "[number] 0x"},
		{"a1-123456789", "a1-123456789"},

		// idempotent
		{"[email] [card] [number]", "[email] [card] [number]"},
	}
	for _, c := range cases {
		if got := Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Scrub(c.want); got != c.want {
			t.Errorf("Scrub is not idempotent on %q: %q", c.want, got)
		}
	}
}

func TestScrubNoAlloc(t *testing.T) {
	for _, s := range []string{
		"Add to cart",
		"Order 12345678 shipped on 2026-03-01 at 12:30",
		strings.Repeat("plain text without anything to mask ", 100),
		"550e8400-e29b-41d4-a716-446655440000",
	} {
		if allocs := testing.AllocsPerRun(100, func() { _ = Scrub(s) }); allocs != 0 {
			t.Errorf("Scrub(%.40q) allocates %.0f times", s, allocs)
		}
	}
}

func TestSensitiveKey(t *testing.T) {
	sensitive := []string{
		"password", "Password", "user_password", "userPassword", "PASSWORD_CONFIRM", "passwd", "pwd", "passphrase",
		"card", "cc", "cc_number", "ccNum", "cardnumber", "card_number", "cardNumber", "CardNo", "credit_card",
		"creditCard", "debit-card", "card_cvc", "cvv", "CVV2", "cvc", "csc", "card_expiry", "cardholder", "card_holder_name",
		"ssn", "SSN", "user_ssn", "SSNNumber", "social_security", "socialSecurityNumber", "iban", "IBAN",
		"secret", "client_secret", "api_key", "apiKey", "private_key", "access_token", "accessToken", "refresh_token",
		"id_token", "csrf_token", "token", "Authorization", "security_code", "pin",
	}
	harmless := []string{
		"", "a", "email", "name", "className", "class", "card_title", "cardTitle", "card_id", "product_card",
		"input_tokens", "total_tokens", "token_count", "tokens", "secretary", "lessons", "passenger", "compass",
		"keyboard", "key", "sku", "cvs_pharmacy", "$current_url", "pinned", "spinner", "access_level", "session_id",
		"description", "account", "discount_code",
	}
	for _, k := range sensitive {
		if !SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = false, want true", k)
		}
	}
	for _, k := range harmless {
		if SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = true, want false", k)
		}
	}
}
