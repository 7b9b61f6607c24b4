package event

import (
	"strconv"
	"strings"
)

// A small table-driven user-agent parser. github.com/medama-io/go-useragent
// was tried first (see the test on real strings): it is fast and right on
// mainstream browsers, but it reports no OS version, calls Android tablets
// mobile, names no bot (Googlebot, curl and python-requests all come out as
// an empty browser), misses GPTBot, and reports Facebook and Instagram
// in-app browsers as versionless Safari. The tables below cover what an
// analytics product is asked about; the order of each table is its
// precedence.

// Device types.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
)

type uaInfo struct {
	browser, browserVersion, os, osVersion, device string
}

type uaRule struct {
	token   string // substring that identifies the agent
	name    string
	version string // token the version follows; "" means token itself, "-" none
}

// botRules identify crawlers, headless browsers and HTTP libraries. They are
// checked before browsers because most crawlers also claim to be Chrome or
// Safari.
var botRules = []uaRule{
	{"Googlebot", "Googlebot", "Googlebot/"},
	{"Google-InspectionTool", "Googlebot", "Google-InspectionTool/"},
	{"AdsBot-Google", "Googlebot", "-"},
	{"Mediapartners-Google", "Googlebot", "-"},
	{"bingbot", "Bingbot", "bingbot/"},
	{"BingPreview", "Bingbot", "BingPreview/"},
	{"YandexBot", "YandexBot", "YandexBot/"},
	{"DuckDuckBot", "DuckDuckBot", "DuckDuckBot/"},
	{"Baiduspider", "Baiduspider", "Baiduspider/"},
	{"Applebot", "Applebot", "Applebot/"},
	{"GPTBot", "GPTBot", "GPTBot/"},
	{"ChatGPT-User", "ChatGPT-User", "ChatGPT-User/"},
	{"OAI-SearchBot", "OAI-SearchBot", "OAI-SearchBot/"},
	{"ClaudeBot", "ClaudeBot", "ClaudeBot/"},
	{"Claude-User", "Claude-User", "Claude-User/"},
	{"PerplexityBot", "PerplexityBot", "PerplexityBot/"},
	{"facebookexternalhit", "Facebook crawler", "facebookexternalhit/"},
	{"meta-externalagent", "Facebook crawler", "meta-externalagent/"},
	{"Twitterbot", "Twitterbot", "Twitterbot/"},
	{"LinkedInBot", "LinkedInBot", "LinkedInBot/"},
	{"Slackbot", "Slackbot", "-"},
	{"Discordbot", "Discordbot", "Discordbot/"},
	{"TelegramBot", "TelegramBot", "-"},
	{"WhatsApp/", "WhatsApp preview", "WhatsApp/"},
	{"AhrefsBot", "AhrefsBot", "AhrefsBot/"},
	{"SemrushBot", "SemrushBot", "SemrushBot/"},
	{"MJ12bot", "MJ12bot", "MJ12bot/"},
	{"DotBot", "DotBot", "DotBot/"},
	{"PetalBot", "PetalBot", "-"},
	{"Bytespider", "Bytespider", "-"},
	{"HeadlessChrome", "HeadlessChrome", "HeadlessChrome/"},
	{"Chrome-Lighthouse", "Lighthouse", "-"},
	{"PhantomJS", "PhantomJS", "PhantomJS/"},
	{"curl/", "curl", "curl/"},
	{"Wget/", "Wget", "Wget/"},
	{"python-requests/", "python-requests", "python-requests/"},
	{"Python-urllib/", "Python-urllib", "Python-urllib/"},
	{"aiohttp/", "aiohttp", "aiohttp/"},
	{"httpx/", "httpx", "httpx/"},
	{"Go-http-client/", "Go-http-client", "Go-http-client/"},
	{"axios/", "axios", "axios/"},
	{"node-fetch", "node-fetch", "node-fetch/"},
	{"undici", "undici", "-"},
	{"okhttp/", "okhttp", "okhttp/"},
	{"Java/", "Java", "Java/"},
	{"Apache-HttpClient/", "Apache-HttpClient", "Apache-HttpClient/"},
	{"libwww-perl/", "libwww-perl", "libwww-perl/"},
	{"Scrapy/", "Scrapy", "Scrapy/"},
	{"PostmanRuntime/", "Postman", "PostmanRuntime/"},
	{"insomnia/", "Insomnia", "insomnia/"},
	{"HTTPie/", "HTTPie", "HTTPie/"},
}

// browserRules, in order: in-app browsers first (they embed a full browser
// token), then browsers that add their token to Chrome's or Safari's, then
// the engines' own names.
var browserRules = []uaRule{
	{"FBAN/", "Facebook", "FBAV/"},
	{"FB_IAB/", "Facebook", "FBAV/"},
	{"FBAV/", "Facebook", "FBAV/"},
	{"Instagram ", "Instagram", "Instagram "},
	{"musical_ly", "TikTok", "musical_ly_"},
	{"BytedanceWebview", "TikTok", "-"},
	{"Snapchat/", "Snapchat", ""},
	{"MicroMessenger/", "WeChat", ""},
	{"Line/", "LINE", ""},
	{"LinkedInApp", "LinkedIn", "LinkedInApp/"},
	{"Pinterest/", "Pinterest", ""},
	{"GSA/", "Google App", ""},
	{"EdgA/", "Edge", ""},
	{"EdgiOS/", "Edge", ""},
	{"Edg/", "Edge", ""},
	{"Edge/", "Edge", ""},
	{"OPR/", "Opera", ""},
	{"OPiOS/", "Opera", ""},
	{"OPT/", "Opera", ""},
	{"Opera Mini/", "Opera Mini", ""},
	{"Opera/", "Opera", "Version/"},
	{"SamsungBrowser/", "Samsung Internet", ""},
	{"YaBrowser/", "Yandex", ""},
	{"UCBrowser/", "UC Browser", ""},
	{"Vivaldi/", "Vivaldi", ""},
	{"DuckDuckGo/", "DuckDuckGo", ""},
	{"Ddg/", "DuckDuckGo", ""},
	{"HuaweiBrowser/", "Huawei Browser", ""},
	{"MiuiBrowser/", "MIUI Browser", ""},
	{"Silk/", "Silk", ""},
	{"CriOS/", "Chrome", ""},
	{"FxiOS/", "Firefox", ""},
	{"Firefox/", "Firefox", ""},
	{"; wv)", "Android WebView", "Chrome/"},
	{"Chromium/", "Chromium", ""},
	{"Chrome/", "Chrome", ""},
	{"Trident/", "IE", "rv:"},
	{"MSIE ", "IE", ""},
}

// parseUA reads browser, OS and device type from a User-Agent header.
// Versions are "major.minor" ("131.0", "17.5"), or "major" when the agent
// sends no minor.
func parseUA(s string) uaInfo {
	var u uaInfo
	if s == "" {
		return u
	}
	osName, osVersion, device := parseOS(s)
	u.os, u.osVersion = osName, osVersion
	if name, version, ok := matchRules(s, botRules); ok {
		u.browser, u.browserVersion, u.device = name, version, DeviceBot
		return u
	}
	if name, ok := genericBot(s); ok {
		u.browser, u.device = name, DeviceBot
		return u
	}
	u.device = device
	if name, version, ok := matchRules(s, browserRules); ok {
		u.browser, u.browserVersion = name, version
		return u
	}
	if strings.Contains(s, "Safari/") || (osName == "iOS" && strings.Contains(s, "AppleWebKit")) {
		if v := versionAfter(s, "Version/"); v != "" || strings.Contains(s, "Safari/") {
			u.browser, u.browserVersion = "Safari", v
		} else {
			// WKWebView inside an app that does not name itself.
			u.browser = "iOS WebView"
		}
		return u
	}
	if osName == "Android" && strings.Contains(s, "Version/") {
		u.browser, u.browserVersion = "Android Browser", versionAfter(s, "Version/")
	}
	return u
}

func matchRules(s string, rules []uaRule) (name, version string, ok bool) {
	for _, r := range rules {
		i := strings.Index(s, r.token)
		if i < 0 {
			continue
		}
		switch r.version {
		case "-":
		case "":
			version = majorMinor(s[i+len(r.token):])
		default:
			version = versionAfter(s, r.version)
		}
		return r.name, version, true
	}
	return "", "", false
}

// genericBot recognizes crawlers that are not in botRules by the habits
// they share: a "+http…" contact link, or a product token ending in "bot",
// "spider" or "crawler".
func genericBot(s string) (string, bool) {
	for _, w := range [...]string{"bot/", "Bot/", "bot;", "Bot;", "spider", "Spider", "crawler", "Crawler"} {
		if i := strings.Index(s, w); i >= 0 {
			return tokenAround(s, i), true
		}
	}
	if i := strings.Index(s, "+http"); i >= 0 {
		if j := strings.Index(s, "compatible; "); j >= 0 {
			return tokenAround(s, j+len("compatible; ")), true
		}
		return tokenAround(s, 0), true
	}
	return "", false
}

// tokenAround returns the product name of the UA token that contains s[i].
func tokenAround(s string, i int) string {
	start := i
	for start > 0 && isTokenByte(s[start-1]) {
		start--
	}
	end := i
	for end < len(s) && isTokenByte(s[end]) {
		end++
	}
	if start == end {
		return "Other bot"
	}
	return s[start:end]
}

func isTokenByte(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.'
}

func parseOS(s string) (name, version, device string) {
	switch {
	case strings.Contains(s, "Windows Phone"):
		return "Windows Phone", majorMinor(after(s, "Windows Phone ")), DeviceMobile
	case strings.Contains(s, "Windows NT "):
		return "Windows", windowsVersion(after(s, "Windows NT ")), DeviceDesktop
	case strings.Contains(s, "iPad"):
		return "iOS", appleVersion(after(s, " OS ")), DeviceTablet
	case strings.Contains(s, "iPhone") || strings.Contains(s, "iPod"):
		return "iOS", appleVersion(after(s, " OS ")), DeviceMobile
	case strings.Contains(s, "Android"):
		device = DeviceTablet
		if strings.Contains(s, "Mobile") && !strings.Contains(s, "Tablet") {
			device = DeviceMobile
		}
		v := after(s, "Android ")
		if v == "" || !isDigit(v[0]) {
			v = ""
		}
		return "Android", majorMinor(v), device
	case strings.Contains(s, "KAIOS/"):
		return "KaiOS", majorMinor(after(s, "KAIOS/")), DeviceMobile
	case strings.Contains(s, "CrOS"):
		return "ChromeOS", "", DeviceDesktop
	case strings.Contains(s, "Mac OS X"):
		return "macOS", appleVersion(after(s, "Mac OS X ")), DeviceDesktop
	case strings.Contains(s, "Macintosh"):
		return "macOS", "", DeviceDesktop
	case strings.Contains(s, "FreeBSD"):
		return "FreeBSD", "", DeviceDesktop
	case strings.Contains(s, "Linux") || strings.Contains(s, "X11"):
		return "Linux", "", DeviceDesktop
	}
	if strings.Contains(s, "Mobile") {
		return "", "", DeviceMobile
	}
	return "", "", ""
}

// after returns what follows the first tok in s, or "".
func after(s, tok string) string {
	if i := strings.Index(s, tok); i >= 0 {
		return s[i+len(tok):]
	}
	return ""
}

func versionAfter(s, tok string) string {
	return majorMinor(after(s, tok))
}

// majorMinor returns the "major.minor" prefix of the version at the start of
// v (a substring: no allocation).
func majorMinor(v string) string {
	n := 0
	for n < len(v) && isDigit(v[n]) {
		n++
	}
	if n == 0 {
		return ""
	}
	if n+1 < len(v) && v[n] == '.' && isDigit(v[n+1]) {
		m := n + 1
		for m < len(v) && isDigit(v[m]) {
			m++
		}
		return v[:m]
	}
	return v[:n]
}

// appleVersion reads "17_5_1" (iOS, macOS) or "10.15" as "17.5" or "10.15".
func appleVersion(v string) string {
	n := 0
	for n < len(v) && (isDigit(v[n]) || v[n] == '_' || v[n] == '.') {
		n++
	}
	v = v[:n]
	if strings.IndexByte(v, '_') < 0 {
		return majorMinor(v)
	}
	major, rest, _ := strings.Cut(v, "_")
	minor, _, _ := strings.Cut(rest, "_")
	if major == "" {
		return ""
	}
	if minor == "" {
		return major
	}
	if s, ok := appleVersions[v[:len(major)+1+len(minor)]]; ok {
		return s
	}
	return major + "." + minor
}

// appleVersions maps "17_5" to "17.5" for the versions Apple ships, so that
// the common case does not allocate.
var appleVersions = func() map[string]string {
	m := make(map[string]string)
	for major := 10; major <= 30; major++ {
		for minor := 0; minor <= 20; minor++ {
			k := strconv.Itoa(major) + "_" + strconv.Itoa(minor)
			m[k] = strconv.Itoa(major) + "." + strconv.Itoa(minor)
		}
	}
	return m
}()

// windowsVersion maps the NT kernel version to the marketed one. Windows 11
// still sends "NT 10.0"; only client hints tell it apart.
func windowsVersion(v string) string {
	switch majorMinor(v) {
	case "10.0":
		return "10"
	case "6.3":
		return "8.1"
	case "6.2":
		return "8"
	case "6.1":
		return "7"
	case "6.0":
		return "Vista"
	case "5.1", "5.2":
		return "XP"
	}
	return ""
}
