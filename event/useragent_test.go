package event

import "testing"

// Real User-Agent strings from current browsers, bots and in-app webviews.
func TestParseUA(t *testing.T) {
	cases := []struct {
		ua                                          string
		browser, version, os, osVersion, deviceType string
	}{
		// Desktop
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome", "131.0", "Windows", "10", "desktop"},
		{uaChromeMac, "Chrome", "131.0", "macOS", "10.15", "desktop"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome", "131.0", "Linux", "", "desktop"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			"Firefox", "133.0", "Windows", "10", "desktop"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
			"Firefox", "133.0", "macOS", "10.15", "desktop"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
			"Firefox", "133.0", "Linux", "", "desktop"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
			"Safari", "18.1", "macOS", "10.15", "desktop"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
			"Edge", "131.0", "Windows", "10", "desktop"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
			"Opera", "115.0", "Windows", "10", "desktop"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome", "131.0", "ChromeOS", "", "desktop"},
		{"Mozilla/5.0 (Windows NT 6.1; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
			"IE", "11.0", "Windows", "7", "desktop"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36",
			"Yandex", "24.12", "Windows", "10", "desktop"},

		// Android
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36",
			"Chrome", "131.0", "Android", "10", "mobile"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
			"Samsung Internet", "27.0", "Android", "14", "mobile"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
			"Firefox", "133.0", "Android", "14", "mobile"},
		{"Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
			"Firefox", "133.0", "Android", "14", "tablet"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.87",
			"Edge", "131.0", "Android", "14", "mobile"},
		{"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome", "131.0", "Android", "13", "tablet"},
		{"Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/128.0.6613.127 Mobile Safari/537.36",
			"Android WebView", "128.0", "Android", "13", "mobile"},

		// iOS
		{uaIPhone, "Safari", "18.1", "iOS", "18.1", "mobile"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.103 Mobile/15E148 Safari/604.1",
			"Chrome", "131.0", "iOS", "17.7", "mobile"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
			"Firefox", "133.0", "iOS", "17.7", "mobile"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.86 Mobile/15E148 Safari/605.1.15",
			"Edge", "131.2903", "iOS", "18.1", "mobile"},
		{"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
			"Safari", "17.4", "iOS", "17.7", "tablet"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1",
			"Google App", "343.0", "iOS", "18.1", "mobile"},

		// In-app webviews
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/471.0.0.37.95;FBBV/628417457;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/630173227]",
			"Facebook", "471.0", "iOS", "17.5", "mobile"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/477.0.0.49.82;]",
			"Facebook", "477.0", "Android", "14", "mobile"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 346.0.7.31.90 (iPhone14,2; iOS 17_6_1; en_US; en; scale=3.00; 1170x2532; 633226519; IABMV/1)",
			"Instagram", "346.0", "iOS", "17.6", "mobile"},
		{"Mozilla/5.0 (Linux; Android 14; SM-G991B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/129.0.6668.100 Mobile Safari/537.36 Instagram 352.0.0.38.100 Android (34/14; 480dpi; 1080x2176; samsung; SM-G991B; o1s; exynos2100; en_GB; 650317633)",
			"Instagram", "352.0", "Android", "14", "mobile"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
			"iOS WebView", "", "iOS", "17.5", "mobile"},

		// Bots and tools
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "2.1", "", "", "bot"},
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			"Googlebot", "2.1", "Android", "6.0", "bot"},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "Bingbot", "2.0", "", "", "bot"},
		{"curl/8.5.0", "curl", "8.5", "", "", "bot"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
			"HeadlessChrome", "131.0", "Linux", "", "bot"},
		{"python-requests/2.32.3", "python-requests", "2.32", "", "", "bot"},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "GPTBot", "1.2", "", "", "bot"},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Facebook crawler", "1.1", "", "", "bot"},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot", "7.0", "", "", "bot"},
		{"Mozilla/5.0 (compatible; Qwantbot/1.0; +https://help.qwant.com/bot/)", "Qwantbot", "", "", "", "bot"},
		{"Mozilla/5.0 (compatible; MojeekSearch; +https://www.mojeek.com/bot.html)", "MojeekSearch", "", "", "", "bot"},

		// Degenerate
		{"", "", "", "", "", ""},
		{"Mozilla/5.0", "", "", "", "", ""},
		{"Mozilla/5.0 (Linux; Android 14; CUBOT KINGKONG 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			"Chrome", "131.0", "Android", "14", "mobile"},
	}
	for _, c := range cases {
		got := parseUA(c.ua)
		want := uaInfo{c.browser, c.version, c.os, c.osVersion, c.deviceType}
		if got != want {
			t.Errorf("%s\n got  %+v\n want %+v", c.ua, got, want)
		}
	}
}

func TestParseUAAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _ = parseUA(uaChromeMac) })
	if allocs != 0 {
		t.Errorf("parseUA allocates %.0f times for a macOS Chrome", allocs)
	}
}
