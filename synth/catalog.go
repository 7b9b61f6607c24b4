package synth

import (
	"math"
	"slices"
	"strings"
)

// Product is one item of the demo shop's catalog. The first six are the
// shop's bestsellers: the demo site has a page for each of them.
type Product struct {
	Slug     string
	Name     string
	Category string // jackets, footwear, packs, camp or accessories
	Price    float64
}

// BlogPost is one article of the shop's journal. Every post links one
// product inline.
type BlogPost struct {
	Slug    string
	Title   string
	Product string // slug of the product linked from the post
}

// Products returns the catalog, most popular first: product views are Zipf
// distributed over this order.
func Products() []Product { return slices.Clone(products) }

// BlogPosts returns the journal's posts, most read first.
func BlogPosts() []BlogPost { return slices.Clone(posts) }

// Categories returns the product categories in the order the shop shows its
// filters.
func Categories() []string { return slices.Clone(categories) }

var categories = []string{"jackets", "footwear", "packs", "camp", "accessories"}

var products = buildProducts()

// productTitle and productURLPath are indexed like products and built once so
// that events share the strings.
var (
	productTitle = mapProducts(func(p Product) string { return p.Name + " — " + shopName })
	productPath  = mapProducts(func(p Product) string { return "/product/" + p.Slug })
	productCDF   = zipfCDF(len(products), 1.07)
	// relatedOf lists, per product, the four products shown under it.
	relatedOf = buildRelated()
)

const shopName = "Ridgeline Supply"

func mapProducts(f func(Product) string) []string {
	out := make([]string, len(products))
	for i, p := range products {
		out[i] = f(p)
	}
	return out
}

func buildProducts() []Product {
	ps := []Product{
		{"alpine-shell-jacket", "Alpine Shell Jacket", "jackets", 189},
		{"ridge-trail-runner", "Ridge Trail Runner", "footwear", 139},
		{"cirrus-down-parka", "Cirrus Down Parka", "jackets", 279},
		{"talus-daypack-22l", "Talus Daypack 22L", "packs", 89},
		{"granite-hiking-boot", "Granite Hiking Boot", "footwear", 179},
		{"summit-tent-2p", "Summit Tent 2P", "camp", 349},
	}
	lines := []string{"Alpine", "Ridge", "Cirrus", "Talus", "Granite", "Summit", "Scree", "Canyon",
		"Tundra", "Basin", "Cascade", "Juniper", "Boreal", "Meridian", "Sierra", "Glacier",
		"Harbor", "Pinnacle", "Aspen", "Cinder"}
	type noun struct {
		name, cat string
		price     float64
	}
	nouns := []noun{
		{"Shell Jacket", "jackets", 189}, {"Down Parka", "jackets", 279}, {"Fleece Hoodie", "jackets", 99},
		{"Rain Shell", "jackets", 149}, {"Insulated Vest", "jackets", 129}, {"Wind Shirt", "jackets", 89},
		{"Softshell Jacket", "jackets", 169}, {"Base Layer Top", "jackets", 69},
		{"Trail Runner", "footwear", 139}, {"Hiking Boot", "footwear", 179}, {"Approach Shoe", "footwear", 149},
		{"Camp Slipper", "footwear", 59}, {"Wool Sock", "footwear", 22},
		{"Daypack 22L", "packs", 89}, {"Backpack 45L", "packs", 219}, {"Hip Pack", "packs", 45},
		{"Duffel 60L", "packs", 129}, {"Sling Bag", "packs", 55},
		{"Tent 2P", "camp", 349}, {"Sleeping Bag", "camp", 259}, {"Sleeping Pad", "camp", 119},
		{"Camp Stove", "camp", 79}, {"Headlamp", "camp", 39}, {"Trekking Poles", "camp", 109},
		{"Water Filter", "camp", 49},
		{"Beanie", "accessories", 29}, {"Gloves", "accessories", 45}, {"Sun Hat", "accessories", 35},
		{"Neck Gaiter", "accessories", 19}, {"Insulated Mug", "accessories", 32},
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Slug] = true
	}
	// A fixed walk over lines × nouns: the catalog is the same for every seed.
	for i := 0; len(ps) < 200 && i < len(lines)*len(nouns)*2; i++ {
		l := lines[i%len(lines)]
		n := nouns[(i*7+i/len(lines))%len(nouns)]
		name := l + " " + n.name
		slug := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
		if seen[slug] {
			continue
		}
		seen[slug] = true
		// Lines differ in price by up to ±20 %, rounded to whole dollars.
		f := 0.8 + 0.4*float64((i*37)%11)/10
		ps = append(ps, Product{slug, name, n.cat, math.Round(n.price * f)})
	}
	return ps
}

func buildRelated() [][4]int {
	out := make([][4]int, len(products))
	for i := range products {
		k := 0
		// Same category first, then the next bestsellers.
		for j := 0; j < len(products) && k < 4; j++ {
			if j != i && products[j].Category == products[i].Category {
				out[i][k] = j
				k++
			}
		}
		for j := 0; k < 4; j++ {
			if j != i && !slices.Contains(out[i][:k], j) {
				out[i][k] = j
				k++
			}
		}
	}
	return out
}

var posts = []BlogPost{
	{"layering-101", "Layering 101: warm without overheating", "cirrus-down-parka"},
	{"choosing-trail-runners", "How to choose trail runners", "ridge-trail-runner"},
	{"first-overnight-hike", "Your first overnight hike: a packing list", "summit-tent-2p"},
	{"caring-for-waterproof-shells", "Caring for a waterproof shell", "alpine-shell-jacket"},
	{"our-story", "Our story: gear that lasts", "talus-daypack-22l"},
}

var (
	postTitle   = mapPosts(func(p BlogPost) string { return p.Title + " — " + shopName })
	postPath    = mapPosts(func(p BlogPost) string { return "/blog/" + p.Slug })
	postProduct = func() []int {
		out := make([]int, len(posts))
		for i, p := range posts {
			out[i] = productIndex(p.Product)
		}
		return out
	}()
	postCDF = zipfCDF(len(posts), 0.9)
)

func mapPosts(f func(BlogPost) string) []string {
	out := make([]string, len(posts))
	for i, p := range posts {
		out[i] = f(p)
	}
	return out
}

func productIndex(slug string) int {
	for i, p := range products {
		if p.Slug == slug {
			return i
		}
	}
	panic("synth: unknown product " + slug)
}

// searchQuery is a query people type into the shop's search box, with the
// number of products it finds.
type searchQuery struct {
	q       string
	path    string // /search?q=…
	results int
	matches []int // product indices found, best first
}

var queries = buildQueries()
var queryCDF = zipfCDF(len(queries), 1.0)

func buildQueries() []searchQuery {
	words := []string{
		"rain jacket", "hiking boots", "down parka", "tent", "backpack", "trail runner",
		"sleeping bag", "fleece", "headlamp", "water filter", "gloves", "beanie", "stove",
		"daypack", "shell jacket", "wool socks", "trekking poles", "parka", "duffel", "mug",
		"alpine", "granite", "vest", "sun hat", "hip pack", "gift card", "returns", "kayak",
		"sleeping pad", "approach shoe", "base layer", "size chart", "summit tent", "insulated",
	}
	qs := make([]searchQuery, 0, len(words))
	for _, w := range words {
		q := searchQuery{q: w, path: "/search?q=" + strings.ReplaceAll(w, " ", "+")}
		toks := strings.Fields(w)
		for i, p := range products {
			name := strings.ToLower(p.Name)
			for _, t := range toks {
				// Crude stemming: "boots" finds "Boot".
				if strings.Contains(name, strings.TrimSuffix(t, "s")) || t == p.Category {
					q.matches = append(q.matches, i)
					break
				}
			}
		}
		q.results = len(q.matches)
		qs = append(qs, q)
	}
	return qs
}

func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return cdf
}

// pickCDF returns the index whose cumulative weight first reaches u in [0,1).
func pickCDF(cdf []float64, u float64) int {
	i, _ := slices.BinarySearch(cdf, u)
	if i >= len(cdf) {
		i = len(cdf) - 1
	}
	return i
}

// device is a browser as seen through its user agent, with the viewports
// people use it at.
type device struct {
	kind    string // desktop, mobile, tablet, bot
	family  string // chrome, safari, firefox, edge, samsung, webview, bot
	ua      string
	weight  float64
	sizes   [][2]int
	jsError int // which wording of a TypeError this engine uses (see errorWording)
}

const (
	engineV8 = iota
	engineWebKit
	engineGecko
)

var desktopSizes = [][2]int{{1920, 945}, {1536, 730}, {1440, 789}, {1366, 633}, {2560, 1271}, {1280, 631}}
var macSizes = [][2]int{{1440, 789}, {1512, 862}, {1728, 997}, {1280, 712}}
var iphoneSizes = [][2]int{{390, 664}, {393, 659}, {430, 739}, {375, 553}, {402, 677}}
var androidSizes = [][2]int{{412, 839}, {384, 744}, {360, 740}, {412, 915}}
var ipadSizes = [][2]int{{820, 1180}, {768, 1024}, {1024, 1366}}
var androidTabletSizes = [][2]int{{800, 1280}, {962, 601}}

// humanDevices is the mix of a consumer shop in 2026: a little more mobile
// than desktop, a few tablets and in-app webviews from social links.
var humanDevices = []device{
	{"desktop", "chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36", 19, desktopSizes, engineV8},
	{"desktop", "chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36", 8, macSizes, engineV8},
	{"desktop", "safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15", 6, macSizes, engineWebKit},
	{"desktop", "edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0", 5, desktopSizes, engineV8},
	{"desktop", "firefox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0", 2.5, desktopSizes, engineGecko},
	{"desktop", "firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0", 0.8, desktopSizes, engineGecko},
	{"desktop", "chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36", 0.7, desktopSizes, engineV8},
	{"mobile", "safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", 15, iphoneSizes, engineWebKit},
	{"mobile", "safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 8, iphoneSizes, engineWebKit},
	{"mobile", "chrome", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0.7444.77 Mobile/15E148 Safari/604.1", 2, iphoneSizes, engineWebKit},
	{"mobile", "chrome", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36", 18, androidSizes, engineV8},
	{"mobile", "samsung", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", 3, androidSizes, engineV8},
	{"mobile", "webview", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 389.0.0.25.76 (iPhone15,2; iOS 18_5; en_US; en; scale=3.00; 1179x2556; 761276546)", 1.5, iphoneSizes, engineWebKit},
	{"mobile", "webview", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/141.0.7390.122 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/530.0.0.47.75;]", 1.5, androidSizes, engineV8},
	{"tablet", "safari", "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", 4, ipadSizes, engineWebKit},
	{"tablet", "chrome", "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36", 2, androidTabletSizes, engineV8},
}

var humanDeviceCDF = func() []float64 {
	cdf := make([]float64, len(humanDevices))
	sum := 0.0
	for i, d := range humanDevices {
		sum += d.weight
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return cdf
}()

// botDevices are crawlers and headless browsers that run JavaScript.
var botDevices = []device{
	{"bot", "bot", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.7444.59 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 0, androidSizes[:1], engineV8},
	{"bot", "bot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", 0, desktopSizes[:1], engineV8},
	{"bot", "bot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 0, desktopSizes[3:4], engineV8},
	{"bot", "bot", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36", 0, [][2]int{{800, 600}}, engineV8},
}

// errorWording is how each engine words the TypeError thrown by the broken
// wishlist button (window.wishlist is undefined).
var errorWording = [...]struct{ message, stack string }{
	engineV8: {"Cannot read properties of undefined (reading 'add')",
		"TypeError: Cannot read properties of undefined (reading 'add')\n    at HTMLButtonElement.<anonymous> (%s/assets/app.js:96:23)"},
	engineWebKit: {"undefined is not an object (evaluating 'window.wishlist.add')",
		"@%s/assets/app.js:96:23"},
	engineGecko: {"window.wishlist is undefined",
		"@%s/assets/app.js:96:23\n"},
}

// source is where a session comes from: its referrer and the UTM tags of
// its landing URL.
type source struct {
	name     string
	referrer string
	utm      string
}

var (
	srcDirect     = source{"direct", "", ""}
	srcGoogle     = source{"google", "https://www.google.com/", ""}
	srcGoogleAds  = source{"google-ads", "https://www.google.com/", "utm_source=google&utm_medium=cpc&utm_campaign=winter-shells"}
	srcBrandAds   = source{"google-ads", "https://www.google.com/", "utm_source=google&utm_medium=cpc&utm_campaign=brand"}
	srcBing       = source{"bing", "https://www.bing.com/", ""}
	srcDuck       = source{"duckduckgo", "https://duckduckgo.com/", ""}
	srcNewsletter = source{"newsletter", "", "utm_source=newsletter&utm_medium=email&utm_campaign=trail-notes"}
	srcInstagram  = source{"instagram", "https://l.instagram.com/", "utm_source=instagram&utm_medium=social&utm_campaign=winter-drop"}
	srcFacebook   = source{"facebook", "https://l.facebook.com/", ""}
	srcReddit     = source{"reddit", "https://www.reddit.com/", ""}
	srcX          = source{"x", "https://t.co/", ""}
	srcReview     = source{"referral", "https://www.outdoorgearlab.example/best-rain-jackets", ""}
	srcHN         = source{"referral", "https://news.ycombinator.com/", ""}
)

type weightedSource struct {
	s source
	w float64
}

var shopSources = []weightedSource{
	{srcDirect, 27}, {srcGoogle, 29}, {srcGoogleAds, 5}, {srcBrandAds, 2}, {srcBing, 3}, {srcDuck, 1},
	{srcNewsletter, 10}, {srcInstagram, 7}, {srcFacebook, 5}, {srcReddit, 3}, {srcX, 2},
	{srcReview, 4}, {srcHN, 1},
}

var blogSources = []weightedSource{
	{srcDirect, 8}, {srcGoogle, 30}, {srcNewsletter, 32}, {srcInstagram, 6}, {srcFacebook, 6},
	{srcReddit, 9}, {srcX, 4}, {srcHN, 5},
}

var emailDomains = []string{"gmail.com", "outlook.com", "icloud.com", "yahoo.com", "proton.me",
	"fastmail.com", "hey.com", "gmx.de", "orange.fr", "company.example"}
var countries = []string{"US", "US", "US", "US", "GB", "GB", "DE", "DE", "CA", "FR", "NL", "AU", "SE", "CH", "IE"}
var plans = []string{"free", "free", "free", "plus", "plus", "pro"}

// planNames are the membership plans in the order of the pricing page.
var planNames = []string{"free", "plus", "pro"}
