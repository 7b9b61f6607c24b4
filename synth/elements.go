package synth

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sightline-analytics/sightline/event"
)

// Page kinds of the demo shop. Target.Page names one of them, or PageAny for
// the header that every page shares.
const (
	PageAny       = "*"
	PageLanding   = "landing"    // /
	PageSearch    = "search"     // /search, /search?q=…, /search?category=…
	PageProduct   = "product"    // /product/<slug>
	PageCart      = "cart"       // /cart
	PageCheckout  = "checkout"   // /checkout
	PageThankYou  = "thank-you"  // /checkout/thank-you (client-side route)
	PageSignup    = "signup"     // /signup
	PagePricing   = "pricing"    // /pricing
	PageBlogIndex = "blog-index" // /blog
	PagePost      = "post"       // /blog/<slug>
	PageAccount   = "account"    // /account
)

// Selectors of the planted broken elements.
const (
	// SelApplyCoupon does nothing when clicked: people rage-click it, and
	// much more after the incident release.
	SelApplyCoupon = "button#apply-coupon"
	// SelSizeGuide is a link that goes nowhere: dead clicks.
	SelSizeGuide = "a.size-guide"
	// SelWishlist throws an uncaught TypeError: error clicks.
	SelWishlist = "button.wishlist"
)

// Target is an element of the demo shop that simulated visitors interact
// with, as the browser SDK describes it.
type Target struct {
	Name string
	// Page is the page kind holding the element (PageAny: in the header).
	Page string
	// Selector is the stable CSS selector the SDK reports; it matches the
	// element in the demo site.
	Selector string
	// Chain is the element chain from the target up to, excluding, <body>.
	Chain []event.Element
	// Varies is set when text, href and data-* values in the chain change
	// with the product shown (product cards, titles, links in posts); Chain
	// is then one example, at the first position.
	Varies bool
	// Interactive is false for content people click although it does
	// nothing (images, headings, paragraphs): heatmap and dead-click noise.
	Interactive bool
}

// Targets returns every element synth generates events on, for tests that
// check the demo site against the generator.
func Targets() []Target {
	out := make([]Target, 0, len(allTargets))
	for _, t := range allTargets {
		ch := make([]event.Element, len(t.chain))
		for i, e := range t.chain {
			e.Classes = slices.Clone(e.Classes)
			e.Attrs = maps.Clone(e.Attrs)
			ch[i] = e
		}
		out = append(out, Target{Name: t.name, Page: t.page, Selector: t.sel, Chain: ch, Interactive: t.interactive,
			Varies: t == tInlineProduct || t == tProductTitle || strings.HasSuffix(t.sel, "a.product-card")})
	}
	return out
}

// box is an element's rectangle in page coordinates, in the desktop layout
// (designed at 1440 px wide) or the mobile one (390 px).
type box struct{ x, y, w, h float64 }

type target struct {
	name, page, sel string
	chain           []event.Element
	interactive     bool
	desk, mob       box
}

// rect returns the target's rectangle for a viewport width: layouts are
// fluid, so x scales with the width and y does not.
func (t *target) rect(mobile bool, vw int) box {
	if mobile {
		b := t.mob
		f := float64(vw) / 390
		return box{b.x * f, b.y, b.w * f, b.h}
	}
	b := t.desk
	f := float64(vw) / 1440
	return box{b.x * f, b.y, b.w * f, b.h}
}

func el(tag, id string, classes []string, nth, nthType int, attrs ...string) event.Element {
	e := event.Element{Tag: tag, ID: id, Classes: classes, NthChild: nth, NthOfType: nthType}
	if len(attrs) > 0 {
		e.Attrs = make(map[string]string, len(attrs)/2)
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attrs[attrs[i]] = attrs[i+1]
		}
	}
	return e
}

func cls(c ...string) []string { return c }

func withText(e event.Element, text string) event.Element { e.Text = text; return e }

func withHref(e event.Element, text, href string) event.Element {
	e.Text, e.Href = text, href
	return e
}

func chain(es ...event.Element) []event.Element { return es }

// Ancestors shared by many chains. <body> holds header (1), main (2) and
// footer (3).
var (
	eHeader   = el("header", "", cls("site-header"), 1, 1)
	eNav      = el("nav", "", cls("main-nav"), 2, 1, "aria-label", "Main")
	eSearchF  = el("form", "", cls("search-form"), 3, 1, "role", "search")
	mHome     = el("main", "home", nil, 2, 1)
	mSearch   = el("main", "search", nil, 2, 1)
	mProduct  = el("main", "product", nil, 2, 1)
	mCart     = el("main", "cart", nil, 2, 1)
	mCheckout = el("main", "checkout", nil, 2, 1)
	mSignup   = el("main", "signup", nil, 2, 1)
	mPricing  = el("main", "pricing", nil, 2, 1)
	mBlog     = el("main", "blog", nil, 2, 1)
	mPost     = el("main", "post", nil, 2, 1)
	mAccount  = el("main", "account", nil, 2, 1)

	eHero      = el("section", "", cls("hero"), 1, 1)
	eFeatured  = el("section", "", cls("featured"), 2, 2)
	eNewslet   = el("section", "", cls("newsletter"), 3, 3)
	eNewsForm  = el("form", "newsletter-form", nil, 2, 1)
	eFilters   = el("div", "", cls("filters"), 2, 1, "role", "group", "aria-label", "Categories")
	eGallery   = el("div", "", cls("gallery"), 2, 1)
	eThumbs    = el("div", "", cls("thumbs"), 2, 1)
	eInfo      = el("div", "", cls("product-info"), 3, 2)
	eSizeRow   = el("div", "", cls("size-row"), 4, 1)
	eQty       = el("div", "", cls("qty"), 5, 2)
	eActions   = el("div", "", cls("actions"), 6, 3)
	eTabs      = el("div", "", cls("tabs"), 7, 4, "role", "tablist")
	eCoupon    = el("div", "", cls("coupon"), 4, 1)
	eSummary   = el("div", "", cls("summary"), 5, 2)
	eCartItems = el("ul", "", cls("cart-items"), 2, 1)
	eCOForm    = el("form", "checkout-form", nil, 2, 1)
	eContact   = el("fieldset", "", cls("contact"), 1, 1)
	eShipping  = el("fieldset", "", cls("shipping"), 2, 2)
	eConfirm   = el("section", "", cls("confirmation"), 1, 1)
	eSignForm  = el("form", "signup-form", nil, 2, 1)
	eBilling   = el("div", "", cls("billing-toggle"), 2, 1, "role", "group", "aria-label", "Billing period")
	ePlans     = el("div", "", cls("plans"), 3, 2)
	eFAQ       = el("section", "", cls("faq"), 4, 1)
	ePost      = el("article", "", cls("post"), 1, 1)
	ePostActs  = el("div", "", cls("post-actions"), 8, 1)
	eLoginForm = el("form", "login-form", nil, 2, 1)
	eOrders    = el("section", "", cls("orders"), 3, 1)
)

// The targets, by name. Boxes are approximate positions in the demo site's
// layouts; they only have to be plausible for heatmaps.
var (
	tLogo = &target{"logo", PageAny, "a.logo", chain(
		withHref(el("a", "", cls("logo"), 1, 1), "Ridgeline Supply", "/"), eHeader),
		true, box{40, 20, 180, 32}, box{16, 14, 150, 28}}
	tNavShop = &target{"nav-shop", PageAny, "nav.main-nav > a:nth-child(1)", chain(
		withHref(el("a", "", nil, 1, 1), "Shop", "/search"), eNav, eHeader),
		true, box{300, 26, 50, 20}, box{16, 56, 44, 24}}
	tNavPricing = &target{"nav-membership", PageAny, "nav.main-nav > a:nth-child(2)", chain(
		withHref(el("a", "", nil, 2, 2), "Membership", "/pricing"), eNav, eHeader),
		true, box{370, 26, 100, 20}, box{76, 56, 100, 24}}
	tNavBlog = &target{"nav-journal", PageAny, "nav.main-nav > a:nth-child(3)", chain(
		withHref(el("a", "", nil, 3, 3), "Journal", "/blog"), eNav, eHeader),
		true, box{490, 26, 64, 20}, box{192, 56, 60, 24}}
	tSearchInput = &target{"search-input", PageAny, "input#q", chain(
		el("input", "q", nil, 1, 1, "name", "q", "aria-label", "Search"), eSearchF, eHeader),
		true, box{760, 18, 260, 36}, box{16, 88, 270, 32}}
	tSearchButton = &target{"search-button", PageAny, "form.search-form > button", chain(
		withText(el("button", "", nil, 2, 1), "Search"), eSearchF, eHeader),
		true, box{1028, 18, 84, 36}, box{294, 88, 80, 32}}
	tSearchForm = &target{"search-form", PageAny, "form.search-form", chain(eSearchF, eHeader),
		true, box{760, 18, 352, 36}, box{16, 88, 358, 32}}
	tAccountLink = &target{"account-link", PageAny, "a.account-link", chain(
		withHref(el("a", "", cls("account-link"), 4, 2), "Account", "/account"), eHeader),
		true, box{1180, 26, 70, 20}, box{270, 16, 60, 24}}
	tCartLink = &target{"cart-link", PageAny, "a.cart-link", chain(
		withHref(el("a", "", cls("cart-link"), 5, 3), "Cart", "/cart"), eHeader),
		true, box{1290, 26, 70, 20}, box{336, 16, 44, 24}}

	tCTA = &target{"hero-cta", PageLanding, "a.cta", chain(
		withHref(el("a", "", cls("cta"), 3, 1), "Shop the collection", "/search"), eHero, mHome),
		true, box{120, 420, 220, 52}, box{16, 330, 200, 48}}
	tHeroTitle = &target{"hero-title", PageLanding, "section.hero > h1", chain(
		withText(el("h1", "", nil, 1, 1), "Gear for the long way round"), eHero, mHome),
		false, box{120, 200, 700, 120}, box{16, 150, 358, 110}}
	tHeroImage = &target{"hero-image", PageLanding, "img.hero-image", chain(
		el("img", "", cls("hero-image"), 4, 1), eHero, mHome),
		false, box{860, 120, 480, 480}, box{16, 400, 358, 300}}
	tNewsEmail = &target{"newsletter-email", PageLanding, "input#newsletter-email", chain(
		el("input", "newsletter-email", nil, 1, 1, "name", "email", "aria-label", "Email"), eNewsForm, eNewslet, mHome),
		true, box{420, 1780, 420, 48}, box{16, 3380, 358, 44}}
	tNewsSubmit = &target{"newsletter-submit", PageLanding, "form#newsletter-form > button", chain(
		withText(el("button", "", nil, 2, 1), "Subscribe"), eNewsForm, eNewslet, mHome),
		true, box{860, 1780, 160, 48}, box{16, 3436, 358, 44}}
	tNewsForm = &target{"newsletter-form", PageLanding, "form#newsletter-form", chain(eNewsForm, eNewslet, mHome),
		true, box{420, 1780, 600, 48}, box{16, 3380, 358, 100}}

	tSort = &target{"sort", PageSearch, "select#sort", chain(
		el("select", "sort", nil, 4, 1, "name", "sort"), mSearch),
		true, box{1160, 170, 160, 36}, box{16, 230, 200, 36}}

	tBreadcrumbHome = &target{"breadcrumb-home", PageProduct, "nav.breadcrumbs > a:nth-child(1)", chain(
		withHref(el("a", "", nil, 1, 1), "Home", "/"), el("nav", "", cls("breadcrumbs"), 1, 1, "aria-label", "Breadcrumb"), mProduct),
		true, box{120, 96, 40, 20}, box{16, 146, 40, 20}}
	tProductImage = &target{"product-image", PageProduct, "img.product-image", chain(
		el("img", "", cls("product-image"), 1, 1), eGallery, mProduct),
		false, box{120, 130, 620, 620}, box{16, 176, 358, 358}}
	tProductTitle = &target{"product-title", PageProduct, "div.product-info > h1", chain(
		el("h1", "", nil, 1, 1), eInfo, mProduct),
		false, box{800, 130, 520, 48}, box{16, 650, 358, 70}}
	tSize = &target{"size", PageProduct, "select#size", chain(
		el("select", "size", nil, 2, 1, "name", "size"), eSizeRow, eInfo, mProduct),
		true, box{800, 330, 200, 40}, box{16, 860, 200, 40}}
	tSizeGuide = &target{"size-guide", PageProduct, SelSizeGuide, chain(
		withHref(el("a", "", cls("size-guide"), 3, 1, "role", "button"), "Size guide", "#"), eSizeRow, eInfo, mProduct),
		true, box{1020, 340, 90, 20}, box{230, 870, 90, 20}}
	tQtyMinus = &target{"qty-minus", PageProduct, "button.qty-minus", chain(
		withText(el("button", "", cls("qty-minus"), 1, 1, "aria-label", "Decrease quantity"), "−"), eQty, eInfo, mProduct),
		true, box{800, 400, 40, 40}, box{16, 920, 40, 40}}
	tQtyPlus = &target{"qty-plus", PageProduct, "button.qty-plus", chain(
		withText(el("button", "", cls("qty-plus"), 3, 2, "aria-label", "Increase quantity"), "+"), eQty, eInfo, mProduct),
		true, box{900, 400, 40, 40}, box{116, 920, 40, 40}}
	tAddToCart = &target{"add-to-cart", PageProduct, "button#add-to-cart", chain(
		withText(el("button", "add-to-cart", nil, 1, 1), "Add to cart"), eActions, eInfo, mProduct),
		true, box{800, 470, 260, 52}, box{16, 980, 358, 52}}
	tWishlist = &target{"wishlist", PageProduct, SelWishlist, chain(
		withText(el("button", "", cls("wishlist"), 2, 2), "Add to wishlist"), eActions, eInfo, mProduct),
		true, box{1080, 470, 200, 52}, box{16, 1044, 358, 48}}

	tRemoveItem = &target{"remove-item", PageCart, "button.remove-item", chain(
		withText(el("button", "", cls("remove-item"), 4, 1), "Remove"), el("li", "", cls("cart-item"), 1, 1), eCartItems, mCart),
		true, box{1100, 200, 90, 32}, box{270, 250, 90, 32}}
	tCouponInput = &target{"coupon-input", PageCart, "input#coupon", chain(
		el("input", "coupon", nil, 2, 1, "name", "coupon"), eCoupon, mCart),
		true, box{120, 420, 300, 44}, box{16, 520, 240, 44}}
	tApplyCoupon = &target{"apply-coupon", PageCart, SelApplyCoupon, chain(
		withText(el("button", "apply-coupon", nil, 3, 1), "Apply coupon"), eCoupon, mCart),
		true, box{440, 420, 160, 44}, box{264, 520, 110, 44}}
	tCheckoutButton = &target{"checkout-button", PageCart, "a#checkout-button", chain(
		withHref(el("a", "checkout-button", cls("button"), 2, 1), "Checkout", "/checkout"), eSummary, mCart),
		true, box{1000, 520, 320, 56}, box{16, 640, 358, 56}}
	tContinueShopping = &target{"continue-shopping", PageCart, "div.summary > a.continue-shopping", chain(
		withHref(el("a", "", cls("continue-shopping"), 3, 2), "Continue shopping", "/search"), eSummary, mCart),
		true, box{1000, 600, 200, 24}, box{16, 712, 200, 24}}

	tName = &target{"checkout-name", PageCheckout, "input#name", chain(
		el("input", "name", nil, 3, 1, "name", "name"), eContact, eCOForm, mCheckout),
		true, box{120, 190, 500, 44}, box{16, 200, 358, 44}}
	tEmail = &target{"checkout-email", PageCheckout, "input#email", chain(
		el("input", "email", nil, 5, 2, "name", "email"), eContact, eCOForm, mCheckout),
		true, box{120, 270, 500, 44}, box{16, 280, 358, 44}}
	tAddress = &target{"checkout-address", PageCheckout, "input#address", chain(
		el("input", "address", nil, 3, 1, "name", "address"), eShipping, eCOForm, mCheckout),
		true, box{120, 400, 500, 44}, box{16, 420, 358, 44}}
	tCity = &target{"checkout-city", PageCheckout, "input#city", chain(
		el("input", "city", nil, 5, 2, "name", "city"), eShipping, eCOForm, mCheckout),
		true, box{120, 480, 240, 44}, box{16, 500, 358, 44}}
	tZip = &target{"checkout-zip", PageCheckout, "input#zip", chain(
		el("input", "zip", nil, 7, 3, "name", "zip"), eShipping, eCOForm, mCheckout),
		true, box{380, 480, 240, 44}, box{16, 580, 358, 44}}
	tPlaceOrder = &target{"place-order", PageCheckout, "button#place-order", chain(
		withText(el("button", "place-order", nil, 4, 1), "Place order"), eCOForm, mCheckout),
		true, box{120, 900, 500, 56}, box{16, 1100, 358, 56}}
	tCheckoutForm = &target{"checkout-form", PageCheckout, "form#checkout-form", chain(eCOForm, mCheckout),
		true, box{120, 160, 500, 800}, box{16, 180, 358, 980}}

	tCreateAccount = &target{"create-account", PageThankYou, "a.create-account", chain(
		withHref(el("a", "", cls("create-account"), 3, 1), "Create an account", "/signup"), eConfirm, mCheckout),
		true, box{120, 320, 240, 48}, box{16, 360, 358, 48}}
	tThanksContinue = &target{"thank-you-continue", PageThankYou, "section.confirmation > a.continue-shopping", chain(
		withHref(el("a", "", cls("continue-shopping"), 4, 2), "Continue shopping", "/search"), eConfirm, mCheckout),
		true, box{380, 320, 200, 48}, box{16, 420, 358, 48}}

	tSignupEmail = &target{"signup-email", PageSignup, "input#signup-email", chain(
		el("input", "signup-email", nil, 2, 1, "name", "email"), eSignForm, mSignup),
		true, box{470, 240, 500, 44}, box{16, 200, 358, 44}}
	tSignupSubmit = &target{"signup-submit", PageSignup, "button#signup-submit", chain(
		withText(el("button", "signup-submit", nil, 5, 1), "Create account"), eSignForm, mSignup),
		true, box{470, 420, 500, 52}, box{16, 400, 358, 52}}
	tSignupForm = &target{"signup-form", PageSignup, "form#signup-form", chain(eSignForm, mSignup),
		true, box{470, 200, 500, 280}, box{16, 180, 358, 280}}
	tLoginHint = &target{"login-hint", PageSignup, "p.login-hint > a", chain(
		withHref(el("a", "", nil, 1, 1), "Log in", "/account"), el("p", "", cls("login-hint"), 3, 1), mSignup),
		true, box{700, 500, 60, 20}, box{200, 480, 60, 20}}

	tBillingMonthly = &target{"billing-monthly", PagePricing, "button.billing[data-billing=monthly]", chain(
		withText(el("button", "", cls("billing"), 1, 1, "data-billing", "monthly"), "Monthly"), eBilling, mPricing),
		true, box{560, 180, 150, 40}, box{40, 190, 150, 40}}
	tBillingYearly = &target{"billing-yearly", PagePricing, "button.billing[data-billing=yearly]", chain(
		withText(el("button", "", cls("billing"), 2, 2, "data-billing", "yearly"), "Yearly"), eBilling, mPricing),
		true, box{720, 180, 150, 40}, box{200, 190, 150, 40}}

	tInlineProduct = &target{"inline-product", PagePost, "a.inline-product", chain(
		el("a", "", cls("inline-product"), 1, 1), el("p", "", nil, 5, 4), ePost, mPost),
		true, box{300, 1400, 180, 24}, box{40, 2600, 160, 24}}
	tShare = &target{"share", PagePost, "button.share", chain(
		withText(el("button", "", cls("share"), 1, 1), "Share"), ePostActs, ePost, mPost),
		true, box{120, 3300, 100, 40}, box{16, 6100, 100, 40}}
	tBackToBlog = &target{"back-to-blog", PagePost, "a.back-to-blog", chain(
		withHref(el("a", "", cls("back-to-blog"), 2, 1), "All posts", "/blog"), ePostActs, ePost, mPost),
		true, box{240, 3300, 100, 40}, box{130, 6100, 100, 40}}
	tParagraph = &target{"post-paragraph", PagePost, "article.post > p:nth-child(3)", chain(
		el("p", "", nil, 3, 2), ePost, mPost),
		false, box{120, 700, 800, 120}, box{16, 1200, 358, 300}}

	tLoginEmail = &target{"login-email", PageAccount, "input#login-email", chain(
		el("input", "login-email", nil, 2, 1, "name", "email"), eLoginForm, mAccount),
		true, box{470, 220, 500, 44}, box{16, 200, 358, 44}}
	tLoginSubmit = &target{"login-submit", PageAccount, "button#login-submit", chain(
		withText(el("button", "login-submit", nil, 5, 1), "Log in"), eLoginForm, mAccount),
		true, box{470, 400, 500, 52}, box{16, 380, 358, 52}}
	tLoginForm = &target{"login-form", PageAccount, "form#login-form", chain(eLoginForm, mAccount),
		true, box{470, 200, 500, 300}, box{16, 180, 358, 300}}
	tLogout = &target{"logout", PageAccount, "button#logout", chain(
		withText(el("button", "logout", nil, 3, 1), "Log out"), eOrders, mAccount),
		true, box{120, 700, 120, 40}, box{16, 900, 120, 40}}
)

// Families of similar targets: filters, thumbnails, tabs, plan buttons,
// FAQ entries and blog index links.
var (
	tFilters = func() []*target {
		names := append([]string{"all"}, categories...)
		labels := []string{"All", "Jackets", "Footwear", "Packs", "Camp", "Accessories"}
		out := make([]*target, len(names))
		for i, n := range names {
			out[i] = &target{"filter-" + n, PageSearch, "button.filter[data-category=" + n + "]", chain(
				withText(el("button", "", cls("filter"), i+1, i+1, "data-category", n), labels[i]), eFilters, mSearch),
				true, box{120 + float64(i)*120, 170, 100, 36}, box{16 + float64(i%3)*120, 180 + float64(i/3)*40, 110, 32}}
		}
		return out
	}()
	tThumbs = func() []*target {
		out := make([]*target, 3)
		for i := range out {
			n := strconv.Itoa(i + 1)
			out[i] = &target{"thumb-" + n, PageProduct, "div.thumbs > button:nth-child(" + n + ")", chain(
				el("button", "", cls("thumb"), i+1, i+1, "aria-label", "View "+n), eThumbs, eGallery, mProduct),
				true, box{120 + float64(i)*100, 770, 88, 88}, box{16 + float64(i)*96, 546, 84, 84}}
		}
		return out
	}()
	tTabs = func() []*target {
		names := []string{"details", "reviews", "shipping"}
		labels := []string{"Details", "Reviews", "Shipping"}
		out := make([]*target, len(names))
		for i, n := range names {
			out[i] = &target{"tab-" + n, PageProduct, "button.tab[data-tab=" + n + "]", chain(
				withText(el("button", "", cls("tab"), i+1, i+1, "role", "tab", "data-tab", n), labels[i]), eTabs, eInfo, mProduct),
				true, box{800 + float64(i)*130, 560, 120, 40}, box{16 + float64(i)*120, 1120, 110, 40}}
		}
		return out
	}()
	tPlans = func() []*target {
		names := []string{"free", "plus", "pro"}
		labels := []string{"Join free", "Choose Plus", "Choose Pro"}
		out := make([]*target, len(names))
		for i, n := range names {
			out[i] = &target{"plan-" + n, PagePricing, "article.plan[data-plan=" + n + "] a.plan-cta", chain(
				withHref(el("a", "", cls("plan-cta"), 4, 1), labels[i], "/signup?plan="+n),
				el("article", "", cls("plan"), i+1, i+1, "data-plan", n), ePlans, mPricing),
				true, box{120 + float64(i)*410, 700, 360, 52}, box{16, 800 + float64(i)*760, 358, 52}}
		}
		return out
	}()
	tFAQ = func() []*target {
		out := make([]*target, 3)
		for i := range out {
			n := strconv.Itoa(i + 2)
			out[i] = &target{"faq-" + strconv.Itoa(i+1), PagePricing, "section.faq > details:nth-child(" + n + ") > summary", chain(
				el("summary", "", nil, 1, 1), el("details", "", nil, i+2, i+1), eFAQ, mPricing),
				true, box{120, 1400 + float64(i)*70, 1200, 40}, box{16, 2700 + float64(i)*80, 358, 48}}
		}
		return out
	}()
	tPostLinks = func() []*target {
		out := make([]*target, len(posts))
		for i, p := range posts {
			n := strconv.Itoa(i + 2)
			out[i] = &target{"post-link-" + strconv.Itoa(i+1), PageBlogIndex, "article.post-summary:nth-child(" + n + ") a.post-link", chain(
				withHref(el("a", "", cls("post-link"), 1, 1), p.Title, "/blog/"+p.Slug), el("h2", "", nil, 1, 1),
				el("article", "", cls("post-summary"), i+2, i+1), mBlog),
				true, box{120, 160 + float64(i)*220, 700, 36}, box{16, 160 + float64(i)*260, 358, 60}}
		}
		return out
	}()
)

// Product grids: the featured grid on the landing page, search results and
// related products under a product. A card's chain is built per click since
// its text, href and position vary.
type grid struct {
	name, page string
	selPrefix  string // selector up to li:nth-child(
	ancestors  []event.Element
	max        int // cards shown
	cols       int // desktop columns
	deskX0     float64
	deskY0     float64
	deskW      float64
	deskPitchX float64
	deskPitchY float64
	mobY0      float64
	mobPitchY  float64
	sels       []string
}

var (
	gFeatured = newGrid("featured-card", PageLanding, "section.featured li:nth-child(",
		chain(el("ul", "", cls("product-grid"), 2, 1), eFeatured, mHome), 6, 3, 120, 760, 380, 410, 420, 780, 400)
	gResults = newGrid("result-card", PageSearch, "ul.results > li:nth-child(",
		chain(el("ul", "", cls("product-grid", "results"), 5, 1), mSearch), 12, 3, 120, 240, 380, 410, 420, 290, 400)
	gRelated = newGrid("related-card", PageProduct, "section.related li:nth-child(",
		chain(el("ul", "", cls("product-grid"), 2, 1), el("section", "", cls("related"), 4, 1), mProduct), 4, 4, 120, 1000, 280, 310, 360, 1500, 380)
)

func newGrid(name, page, selPrefix string, anc []event.Element, max, cols int, dx, dy, dw, px, py, my, mpy float64) *grid {
	g := &grid{name: name, page: page, selPrefix: selPrefix, ancestors: anc, max: max, cols: cols,
		deskX0: dx, deskY0: dy, deskW: dw, deskPitchX: px, deskPitchY: py, mobY0: my, mobPitchY: mpy}
	g.sels = make([]string, max)
	for i := range g.sels {
		g.sels[i] = selPrefix + strconv.Itoa(i+1) + ") > a.product-card"
	}
	return g
}

// card returns the target for the product card at position pos (0-based)
// showing product. cache, when not nil, keeps chains for reuse: events share
// them read-only.
func (g *grid) card(pos, product int, cache map[cardKey][]event.Element) target {
	k := cardKey{g, pos, product}
	ch := cache[k]
	if ch == nil {
		ch = make([]event.Element, 0, len(g.ancestors)+2)
		ch = append(ch,
			event.Element{Tag: "a", Classes: cardClasses, Text: products[product].Name, Href: productPath[product], NthChild: 1, NthOfType: 1},
			event.Element{Tag: "li", Classes: liClasses, Attrs: categoryAttrs[products[product].Category], NthChild: pos + 1, NthOfType: pos + 1})
		ch = append(ch, g.ancestors...)
		if cache != nil {
			cache[k] = ch
		}
	}
	c, r := float64(pos%g.cols), float64(pos/g.cols)
	return target{name: g.name, page: g.page, sel: g.sels[pos], chain: ch, interactive: true,
		desk: box{g.deskX0 + c*g.deskPitchX, g.deskY0 + r*g.deskPitchY, g.deskW, g.deskPitchY - 40},
		mob:  box{16, g.mobY0 + float64(pos)*g.mobPitchY, 358, g.mobPitchY - 40}}
}

type cardKey struct {
	g            *grid
	pos, product int
}

// inlineProduct is the product link of each blog post.
var inlineProduct = func() []*target {
	out := make([]*target, len(posts))
	for i := range posts {
		c := *tInlineProduct
		c.chain = slices.Clone(c.chain)
		p := postProduct[i]
		c.chain[0].Text, c.chain[0].Href = products[p].Name, productPath[p]
		out[i] = &c
	}
	return out
}()

var (
	cardClasses = cls("product-card")
	liClasses   = cls("product")
	// categoryAttrs holds the data-category attribute of product cards' items,
	// one shared map per category.
	categoryAttrs = func() map[string]map[string]string {
		m := map[string]map[string]string{}
		for _, c := range categories {
			m[c] = map[string]string{"data-category": c}
		}
		return m
	}()
)

// allTargets lists every target for Targets(), with the first card of each
// grid standing for its grid.
var allTargets = func() []*target {
	ts := []*target{tLogo, tNavShop, tNavPricing, tNavBlog, tSearchInput, tSearchButton, tSearchForm,
		tAccountLink, tCartLink, tCTA, tHeroTitle, tHeroImage, tNewsEmail, tNewsSubmit, tNewsForm,
		tSort, tBreadcrumbHome, tProductImage, tProductTitle, tSize, tSizeGuide, tQtyMinus, tQtyPlus,
		tAddToCart, tWishlist, tRemoveItem, tCouponInput, tApplyCoupon, tCheckoutButton,
		tContinueShopping, tName, tEmail, tAddress, tCity, tZip, tPlaceOrder, tCheckoutForm,
		tCreateAccount, tThanksContinue, tSignupEmail, tSignupSubmit, tSignupForm, tLoginHint,
		tBillingMonthly, tBillingYearly, tInlineProduct, tShare, tBackToBlog, tParagraph,
		tLoginEmail, tLoginSubmit, tLoginForm, tLogout}
	for _, f := range [][]*target{tFilters, tThumbs, tTabs, tPlans, tFAQ, tPostLinks} {
		ts = append(ts, f...)
	}
	for _, g := range []*grid{gFeatured, gResults} {
		c := g.card(0, 0, nil)
		ts = append(ts, &c)
	}
	c := gRelated.card(0, relatedOf[0][0], nil)
	ts = append(ts, &c)
	return ts
}()
