package event

import "testing"

func TestRefDomain(t *testing.T) {
	cases := []struct{ ref, want string }{
		{"", Direct},
		{"https://www.google.com/", "www.google.com"},
		{"https://www.google.co.uk/search?q=shoes", "www.google.co.uk"},
		{"https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example.com%2F&h=AT0abc", "l.facebook.com"},
		{"https://lm.facebook.com/", "lm.facebook.com"},
		{"https://t.co/Ab12Cd34", "t.co"},
		{"https://www.bing.com/search?q=trail+runner&form=QBLH", "www.bing.com"},
		{"https://duckduckgo.com/", "duckduckgo.com"},
		{"https://mail.google.com/mail/u/0/", "mail.google.com"},
		{"android-app://com.google.android.gm/", "com.google.android.gm"},
		{"android-app://com.slack/", "com.slack"},
		{"http://localhost:3000/cart", "localhost:3000"},
		{"https://user:secret@Example.COM/x", "example.com"},
		{"https://[2001:db8::1]:8443/", "[2001:db8::1]:8443"},
		{"news.ycombinator.com/item?id=1", "news.ycombinator.com"},
		{"about:blank", Direct},
		{"/relative/path", Direct},
		{"not a url", Direct},
	}
	for _, c := range cases {
		if got := refDomain(c.ref); got != c.want {
			t.Errorf("refDomain(%q) = %q, want %q", c.ref, got, c.want)
		}
	}
}

func TestUTM(t *testing.T) {
	cases := []struct {
		url                                     string
		source, medium, campaign, term, content string
	}{
		{"https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=running+shoes&utm_content=ad1&gclid=Cj0KCQiA",
			"google", "cpc", "brand", "running shoes", "ad1"},
		{"https://shop.example.com/p?utm_source=facebook&utm_medium=paid_social&utm_campaign=120210987654321098&utm_content=120210987654321099&fbclid=IwAR2xyz",
			"facebook", "paid_social", "120210987654321098", "", "120210987654321099"},
		{"https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&utm_term=jane%40example.com",
			"newsletter", "email", "spring sale", "[email]", ""},
		{"https://shop.example.com/?UTM_SOURCE=Twitter&utm_source=ignored", "Twitter", "", "", "", ""},
		{"https://shop.example.com/?utm_source=&utm_medium", "", "", "", "", ""},
		{"https://shop.example.com/#utm_source=hash", "", "", "", "", ""},
		{"https://shop.example.com/?q=utm_source%3Dx", "", "", "", "", ""},
		{"https://shop.example.com/?utm_campaign=%zz", "", "", "%zz", "", ""},
	}
	for _, c := range cases {
		r := baseRaw()
		r.URL = c.url
		var e Event
		if err := Normalize(&r, testBatch(), &e); err != nil {
			t.Fatal(err)
		}
		got := [5]string{e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent}
		want := [5]string{c.source, c.medium, c.campaign, c.term, c.content}
		if got != want {
			t.Errorf("%s\n got  %q\n want %q", c.url, got, want)
		}
	}
}

func TestScrubURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://shop.example.com/products/42?page=2", "https://shop.example.com/products/42?page=2"},
		{"https://shop.example.com/orders/1234567890", "https://shop.example.com/orders/1234567890"}, // ids in paths stay
		{"https://shop.example.com/u/jane@example.com/edit", "https://shop.example.com/u/[email]/edit"},
		{"https://a:b@shop.example.com/", "https://shop.example.com/"},
		{"https://shop.example.com/?email=jane%40example.com", "https://shop.example.com/?email=[email]"},
		{"https://shop.example.com/?phone=%2B1+555+123+4567", "https://shop.example.com/?phone=%2B[number]"},
		{"https://shop.example.com/reset?token=abc123&next=%2F", "https://shop.example.com/reset?next=%2F"},
		{"https://shop.example.com/?password=x", "https://shop.example.com/"},
		{"https://shop.example.com/?password=x#id_token=y", "https://shop.example.com/"},
		{"https://shop.example.com/?#", "https://shop.example.com/?#"},
		{"https://shop.example.com/cb#access_token=eyJ&token_type=bearer&state=1", "https://shop.example.com/cb#token_type=bearer&state=1"},
		{"https://shop.example.com/#contact/jane@example.com", "https://shop.example.com/#contact/[email]"},
		{"https://shop.example.com/?a=1&&b=2&", "https://shop.example.com/?a=1&&b=2&"},
		{"https://shop.example.com/?a=1&&card=4111&b=2&", "https://shop.example.com/?a=1&&b=2&"},
		{"/search?q=jane@example.com", "/search?q=[email]"},
		{"mailto:jane@example.com", "mailto:[email]"},
		{"tel:+15551234567", "tel:+[number]"},
	}
	for _, c := range cases {
		if got := scrubURL(c.in); got != c.want {
			t.Errorf("scrubURL(%q)\n got  %q\n want %q", c.in, got, c.want)
		}
	}
}
