package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/adapters/shopify/app/apptest"
	"github.com/cartback/cartback/recovery"
)

const shop = apptest.DefaultShop

// setup starts a fake Shopify and returns it with a client pointed at it
// and a valid token.
func setup(t *testing.T) (*apptest.Server, *app.Client, app.Token) {
	t.Helper()
	fake := apptest.NewServer()
	t.Cleanup(fake.Close)
	cfg := app.Config{APIKey: fake.ClientID, APISecret: fake.ClientSecret, BaseURL: fake.URL}
	client := cfg.Client(fake.Client())
	tok, err := client.ExchangeCode(context.Background(), shop, fake.IssueCode())
	if err != nil {
		t.Fatal(err)
	}
	return fake, client, tok
}

func TestInstallFlow(t *testing.T) {
	fake := apptest.NewServer()
	defer fake.Close()
	cfg := app.Config{APIKey: fake.ClientID, APISecret: fake.ClientSecret, BaseURL: fake.URL}
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()

	// /shopify/install: state cookie and redirect to the authorize page.
	state, cookie := app.NewState(key, shop, now)
	authorize := cfg.AuthorizeURL(shop, "https://cartback.example.com/shopify/callback", state)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Path != "/shopify/callback" {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// /shopify/callback: signed query, state, code exchange.
	q := loc.Query()
	gotShop, code, err := app.CheckCallback(q, time.Now(), cfg.Secrets()...)
	if err != nil || gotShop != shop {
		t.Fatalf("CheckCallback = %q, %v", gotShop, err)
	}
	if !app.CheckState(key, cookie, q.Get("state"), gotShop, time.Now()) {
		t.Fatal("CheckState refused the callback's state")
	}
	tok, err := cfg.Client(fake.Client()).ExchangeCode(context.Background(), gotShop, code)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tok.Scopes, ",") != strings.Join(app.DefaultScopes, ",") {
		t.Errorf("granted scopes = %v", tok.Scopes)
	}
}

func TestExchangeAndRefresh(t *testing.T) {
	fake := apptest.NewServer()
	defer fake.Close()
	ctx := context.Background()
	start := time.Now()
	cfg := app.Config{APIKey: fake.ClientID, APISecret: fake.ClientSecret, BaseURL: fake.URL}
	client := cfg.Client(fake.Client())

	code := fake.IssueCode()
	t1, err := client.ExchangeCode(ctx, shop, code)
	if err != nil {
		t.Fatal(err)
	}
	if t1.AccessToken == "" || t1.RefreshToken == "" {
		t.Fatalf("token = %+v, want an access and a refresh token", t1)
	}
	if d := t1.ExpiresAt.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("access token lasts %v, want an hour", d)
	}
	if d := t1.RefreshExpiresAt.Sub(start); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("refresh token lasts %v, want 90 days", d)
	}
	if !t1.HasScope("read_orders") || !t1.HasScope("write_discounts") {
		t.Errorf("scopes = %v", t1.Scopes)
	}

	// An authorization code is single use.
	if _, err := client.ExchangeCode(ctx, shop, code); !errors.Is(err, app.ErrInvalidGrant) {
		t.Errorf("second exchange of a code: err = %v, want ErrInvalidGrant", err)
	}
	// Wrong credentials are refused.
	bad := *client
	bad.ClientSecret = "wrong"
	if _, err := bad.ExchangeCode(ctx, shop, fake.IssueCode()); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("exchange with a wrong secret: err = %v, want an error not quoting the secret", err)
	}
	// A host that is not a shop never gets the secret.
	if _, err := client.ExchangeCode(ctx, "evil.example.com", "x"); err == nil {
		t.Error("exchange accepted a shop that is not a myshopify.com domain")
	}

	t2, err := client.Refresh(ctx, shop, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t2.RefreshToken == t1.RefreshToken || t2.AccessToken == t1.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	// Using the new refresh token retires the old one for good.
	t3, err := client.Refresh(ctx, shop, t2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Refresh(ctx, shop, t1.RefreshToken); !errors.Is(err, app.ErrInvalidGrant) {
		t.Errorf("refresh with a rotated-out token: err = %v, want ErrInvalidGrant", err)
	}
	if _, err := client.EnsureWebhooks(ctx, shop, t3.AccessToken, "https://cartback.example.com/webhooks/shopify", nil); err != nil {
		t.Errorf("the refreshed access token does not work: %v", err)
	}
	if got := fake.Calls("refresh_token"); got != 3 {
		t.Errorf("refresh requests = %d, want 3", got)
	}
}

func TestExpiredAndRevokedTokens(t *testing.T) {
	fake, client, tok := setup(t)
	ctx := context.Background()
	fake.SetClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
	_, err := client.CheckoutCompleted(ctx, shop, tok.AccessToken, "abc")
	if !errors.Is(err, app.ErrUnauthorized) {
		t.Fatalf("expired token: err = %v, want ErrUnauthorized", err)
	}
	// A refresh gives a working token again.
	fresh, err := client.Refresh(ctx, shop, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CheckoutCompleted(ctx, shop, fresh.AccessToken, "abc"); err != nil {
		t.Fatalf("refreshed token: %v", err)
	}
	fake.RevokeTokens()
	if _, err := client.CheckoutCompleted(ctx, shop, fresh.AccessToken, "abc"); !errors.Is(err, app.ErrUnauthorized) {
		t.Errorf("revoked token: err = %v, want ErrUnauthorized", err)
	}
	if _, err := client.Refresh(ctx, shop, fresh.RefreshToken); !errors.Is(err, app.ErrInvalidGrant) {
		t.Errorf("revoked refresh token: err = %v, want ErrInvalidGrant", err)
	}
}

func TestEnsureWebhooks(t *testing.T) {
	fake, client, tok := setup(t)
	ctx := context.Background()
	callback := "https://cartback.example.com/webhooks/shopify"

	created, err := client.EnsureWebhooks(ctx, shop, tok.AccessToken, callback, app.WebhookTopics)
	if err != nil || created != 5 {
		t.Fatalf("first EnsureWebhooks = %d, %v; want 5", created, err)
	}
	created, err = client.EnsureWebhooks(ctx, shop, tok.AccessToken, callback, app.WebhookTopics)
	if err != nil || created != 0 {
		t.Fatalf("second EnsureWebhooks = %d, %v; want 0", created, err)
	}
	hooks := fake.Webhooks()
	if len(hooks) != 5 {
		t.Fatalf("fake holds %d webhooks, want 5", len(hooks))
	}
	for i, h := range hooks {
		if h.Topic != app.WebhookTopics[i] || h.URI != callback || h.Format != "JSON" {
			t.Errorf("webhook %d = %+v", i, h)
		}
	}
	// A new address gets its own subscriptions; the old ones stay.
	created, err = client.EnsureWebhooks(ctx, shop, tok.AccessToken, "https://new.example.com/webhooks/shopify", []string{app.TopicAppUninstalled})
	if err != nil || created != 1 || len(fake.Webhooks()) != 6 {
		t.Errorf("EnsureWebhooks at a new address = %d, %v", created, err)
	}
	// userErrors come back as errors, and a refused topic does not keep
	// the others from being subscribed (an app without protected customer
	// data approval still learns of its uninstall).
	other := "https://other.example.com/webhooks/shopify"
	created, err = client.EnsureWebhooks(ctx, shop, tok.AccessToken, other, []string{"NOT_A_TOPIC", app.TopicAppUninstalled})
	var ue app.UserErrors
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "topic") || created != 1 {
		t.Errorf("a refused topic before a good one: %d created, err = %v, want UserErrors", created, err)
	}
	if app.WebhookTopics[0] != app.TopicAppUninstalled {
		t.Errorf("APP_UNINSTALLED is not subscribed first: %v", app.WebhookTopics)
	}
}

func TestGraphQLThrottled(t *testing.T) {
	fake, client, tok := setup(t)
	fake.Throttle(1)
	started := time.Now()
	created, err := client.EnsureWebhooks(context.Background(), shop, tok.AccessToken, "https://cartback.example.com/webhooks/shopify", nil)
	if err != nil || created != 5 {
		t.Fatalf("EnsureWebhooks after a throttled answer = %d, %v", created, err)
	}
	// The fake asks for 60 points with 10 available, restoring 1000 a
	// second: a 50 ms wait.
	if waited := time.Since(started); waited < 50*time.Millisecond {
		t.Errorf("retried after %v, want at least 50ms", waited)
	}
	throttled := 0
	for _, r := range fake.Requests() {
		if r.Throttled {
			throttled++
		}
	}
	if throttled != 1 || fake.Calls("webhookSubscriptions") != 2 {
		t.Errorf("throttled answers = %d, list calls = %d; want 1 and 2", throttled, fake.Calls("webhookSubscriptions"))
	}

	// Throttled on every try: the client gives up with ErrThrottled.
	fake.Throttle(100)
	_, err = client.CheckoutCompleted(context.Background(), shop, tok.AccessToken, "abc")
	if !errors.Is(err, app.ErrThrottled) {
		t.Errorf("always throttled: err = %v, want ErrThrottled", err)
	}
	// A cancelled context cuts the wait short.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.CheckoutCompleted(ctx, shop, tok.AccessToken, "abc"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestGraphQLHTTP429AndErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/api/"+app.APIVersion+"/graphql.json" || r.Header.Get("X-Shopify-Access-Token") != "tok" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0.02")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Write([]byte(`{"data":{"shop":{"name":"Demo"}}}`))
		case 3:
			w.Write([]byte(`{"data":null,"errors":[{"message":"Access denied for orders field.","extensions":{"code":"ACCESS_DENIED"}}]}`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	client := &app.Client{BaseURL: func(string) string { return srv.URL }, HTTP: srv.Client()}
	ctx := context.Background()

	var out struct {
		Shop struct{ Name string } `json:"shop"`
	}
	if err := client.GraphQL(ctx, shop, "tok", `{ shop { name } }`, nil, &out); err != nil || out.Shop.Name != "Demo" {
		t.Fatalf("GraphQL after a 429 = %+v, %v", out, err)
	}
	err := client.GraphQL(ctx, shop, "tok", `{ orders(first: 1) { nodes { id } } }`, nil, &out)
	var ge app.GraphQLErrors
	if !errors.As(err, &ge) || ge[0].Code() != "ACCESS_DENIED" {
		t.Errorf("top-level errors: err = %v, want GraphQLErrors with ACCESS_DENIED", err)
	}
	if err := client.GraphQL(ctx, shop, "tok", `{ shop { name } }`, nil, &out); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("HTTP 500: err = %v", err)
	}
	if err := client.GraphQL(ctx, "evil.example.com", "tok", `{ shop { name } }`, nil, &out); err == nil {
		t.Error("GraphQL accepted a shop that is not a myshopify.com domain")
	}
}

func TestAbandonedCheckouts(t *testing.T) {
	fake, client, tok := setup(t)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second).Add(-2 * time.Hour)
	var added []apptest.Checkout
	for i := range 5 {
		added = append(added, fake.AddCheckout(apptest.Checkout{
			Email: "shopper@example.com", FirstName: "Kari", LastName: "Nordmann", Locale: "nb_NO",
			Phone: "912 34 567", Country: "NO", EmailMarketing: true,
			Currency: "NOK",
			Items: []apptest.LineItem{
				{Title: "Wool socks", VariantTitle: "M", SKU: "WS-M", Quantity: 2, Price: "149.50", ProductID: 632910392, VariantID: 808950810, ImageURL: "https://cdn.example.com/socks.png",
					Attributes: map[string]string{"Engraving": "K.N.", "_hidden": "x"}},
				{Title: "Mug", Quantity: 1, Price: "80.69"},
			},
			Subtotal: "379.69", Discount: "0.00", Tax: "94.92", Total: "474.61",
			CreatedAt: base.Add(-time.Hour), UpdatedAt: base.Add(time.Duration(i) * time.Minute),
		}))
	}
	fake.CompleteCheckout(added[4].Token)

	var carts []*recovery.Cart
	cursor, err := client.AbandonedCheckouts(ctx, shop, tok.AccessToken, base.Add(-24*time.Hour), 2, func(ac app.AbandonedCheckout) error {
		cart, err := ac.Cart("US")
		if err != nil {
			return err
		}
		carts = append(carts, cart)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(carts) != 5 || fake.Calls("abandonedCheckouts") != 3 {
		t.Fatalf("read %d carts in %d pages, want 5 in 3", len(carts), fake.Calls("abandonedCheckouts"))
	}
	// The completed checkout was updated last, at the fake's clock.
	if last := carts[4]; !cursor.Equal(last.LastActivityAt) || cursor.Before(base) {
		t.Errorf("cursor = %v, want the last updatedAt %v", cursor, last.LastActivityAt)
	}

	c := carts[0]
	if c.Keys.CheckoutToken != added[0].Token || !strings.Contains(c.RestoreURL, "/checkouts/"+added[0].Token+"/recover") {
		t.Errorf("keys = %+v, restore URL = %s", c.Keys, c.RestoreURL)
	}
	wantContact := recovery.Contact{Email: "shopper@example.com", Phone: "+4791234567", FirstName: "Kari", LastName: "Nordmann", Locale: "nb-NO", Country: "NO"}
	if c.Contact != wantContact {
		t.Errorf("contact = %+v, want %+v", c.Contact, wantContact)
	}
	if !c.Consent.Email.Granted || c.Consent.SMS.Granted {
		t.Errorf("consent = %+v, want email only", c.Consent)
	}
	if c.Currency != "NOK" || c.Totals != (recovery.Totals{Subtotal: 37969, Tax: 9492, Total: 47461}) {
		t.Errorf("currency %s, totals = %+v", c.Currency, c.Totals)
	}
	if len(c.Items) != 2 {
		t.Fatalf("items = %+v", c.Items)
	}
	socks := c.Items[0]
	if socks.Title != "Wool socks" || socks.VariantTitle != "M" || socks.SKU != "WS-M" || socks.Quantity != 2 ||
		socks.UnitPrice != 14950 || socks.LinePrice != 29900 || socks.ProductID != "632910392" || socks.VariantID != "808950810" ||
		socks.ImageURL != "https://cdn.example.com/socks.png" || len(socks.Attributes) != 1 || socks.Attributes[0] != (recovery.Attribute{Name: "Engraving", Value: "K.N."}) {
		t.Errorf("line item = %+v", socks)
	}
	if !c.LastActivityAt.Equal(base) || !c.CreatedAt.Equal(base.Add(-time.Hour)) || c.State != "" {
		t.Errorf("times %v %v, state %q", c.LastActivityAt, c.CreatedAt, c.State)
	}
	if done := carts[4]; done.State != recovery.CartConverted || done.Conversion == nil || done.Conversion.Total != 47461 {
		t.Errorf("completed checkout: state %q, conversion %+v", done.State, done.Conversion)
	}

	// From the cursor on only the last checkout is read again.
	n := 0
	next, err := client.AbandonedCheckouts(ctx, shop, tok.AccessToken, cursor, 0, func(app.AbandonedCheckout) error { n++; return nil })
	if err != nil || n != 1 || !next.Equal(cursor) {
		t.Errorf("from the cursor: %d checkouts, cursor %v, %v", n, next, err)
	}
	// An error from fn stops the walk.
	stop := errors.New("stop")
	if _, err := client.AbandonedCheckouts(ctx, shop, tok.AccessToken, time.Time{}, 2, func(app.AbandonedCheckout) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: err = %v", err)
	}
}

func TestAbandonedCheckoutToken(t *testing.T) {
	for u, want := range map[string]string{
		"https://checkout.local/548380009/checkouts/2a1ace52255252df566af0faaedfbfa7/recover":        "2a1ace52255252df566af0faaedfbfa7",
		"https://shop.example.com/548380009/checkouts/ac/Z2NwLXVzLWVhc3Qx/recover?key=abc&locale=en": "Z2NwLXVzLWVhc3Qx",
		"https://shop.example.com/cart":   "",
		"":                                "",
		"https://x/checkouts//recover":    "",
		"https://x/checkouts/a b/recover": "",
	} {
		if got := (app.AbandonedCheckout{AbandonedCheckoutURL: u}).Token(); got != want {
			t.Errorf("Token(%q) = %q, want %q", u, got, want)
		}
	}
	if _, err := (app.AbandonedCheckout{ID: "gid://shopify/AbandonedCheckout/1"}).Cart("US"); recovery.ErrorCode(err) != recovery.EINVALID {
		t.Errorf("Cart without a token: err = %v, want EINVALID", err)
	}
}

// Amounts an abandoned checkout cannot hold are refused, as the webhook
// decoder refuses them: a line price past int64, an amount in another
// currency.
func TestAbandonedCheckoutAmounts(t *testing.T) {
	usd := func(amount string) app.MoneyBag {
		return app.MoneyBag{PresentmentMoney: app.Money{Amount: amount, CurrencyCode: "USD"}}
	}
	base := func() app.AbandonedCheckout {
		ac := app.AbandonedCheckout{ID: "gid://shopify/AbandonedCheckout/1", AbandonedCheckoutURL: "https://x.example/1/checkouts/abc/recover", TotalPriceSet: usd("20.00")}
		ac.LineItems.Nodes = []app.AbandonedCheckoutLineItem{{Title: "Lamp", Quantity: 2, OriginalUnitPriceSet: usd("10.00")}}
		return ac
	}
	cart, err := base().Cart("US")
	if err != nil || cart.Items[0].LinePrice != 2000 || cart.Totals.Total != 2000 {
		t.Fatalf("plain checkout: %+v, %v", cart, err)
	}
	huge := base()
	huge.LineItems.Nodes[0].Quantity = 1 << 62
	if _, err := huge.Cart("US"); recovery.ErrorCode(err) != recovery.EINVALID || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("line price past int64: err = %v", err)
	}
	other := base()
	other.SubtotalPriceSet = app.MoneyBag{PresentmentMoney: app.Money{Amount: "5.00", CurrencyCode: "EUR"}}
	if _, err := other.Cart("US"); recovery.ErrorCode(err) != recovery.EINVALID || !strings.Contains(err.Error(), "EUR") {
		t.Errorf("amount in another currency: err = %v", err)
	}
}

func TestCheckoutCompleted(t *testing.T) {
	fake, client, tok := setup(t)
	ctx := context.Background()
	co := fake.AddCheckout(apptest.Checkout{Email: "a@example.com", Total: "10.00"})
	done, err := client.CheckoutCompleted(ctx, shop, tok.AccessToken, co.Token)
	if err != nil || done {
		t.Fatalf("open checkout: %v, %v", done, err)
	}
	fake.CompleteCheckout(co.Token)
	done, err = client.CheckoutCompleted(ctx, shop, tok.AccessToken, co.Token)
	if err != nil || !done {
		t.Fatalf("completed checkout: %v, %v", done, err)
	}
	if _, err := client.CheckoutCompleted(ctx, shop, tok.AccessToken, `x' OR status:any`); err == nil {
		t.Error("CheckoutCompleted accepted a token that would change the search query")
	}
}

func TestCreateDiscountCode(t *testing.T) {
	fake, client, tok := setup(t)
	ctx := context.Background()
	code, err := client.CreateDiscountCode(ctx, shop, tok.AccessToken, app.Discount{Percentage: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	ds := fake.Discounts()
	if len(ds) != 1 || ds[0].Code != code || !strings.HasPrefix(code, "CB-") {
		t.Fatalf("code %q, fake holds %+v", code, ds)
	}
	in := ds[0].Input
	if in["usageLimit"] != 1.0 || in["appliesOncePerCustomer"] != true {
		t.Errorf("limits = %v, %v", in["usageLimit"], in["appliesOncePerCustomer"])
	}
	if cw, _ := in["combinesWith"].(map[string]any); cw["shippingDiscounts"] != true || cw["orderDiscounts"] != false || cw["productDiscounts"] != false {
		t.Errorf("combinesWith = %v, want shipping discounts only", in["combinesWith"])
	}
	gets := in["customerGets"].(map[string]any)
	if gets["value"].(map[string]any)["percentage"] != 0.1 || gets["items"].(map[string]any)["all"] != true {
		t.Errorf("customerGets = %v", gets)
	}
	startsAt, _ := time.Parse(time.RFC3339, in["startsAt"].(string))
	endsAt, _ := time.Parse(time.RFC3339, in["endsAt"].(string))
	if endsAt.Sub(startsAt) != app.DefaultDiscountTTL {
		t.Errorf("valid for %v, want %v", endsAt.Sub(startsAt), app.DefaultDiscountTTL)
	}

	code, err = client.CreateDiscountCode(ctx, shop, tok.AccessToken, app.Discount{Code: "SAVE5-KARI", Amount: "5.00", EndsAt: time.Now().Add(24 * time.Hour)})
	if err != nil || code != "SAVE5-KARI" {
		t.Fatalf("fixed amount = %q, %v", code, err)
	}
	amount := fake.Discounts()[1].Input["customerGets"].(map[string]any)["value"].(map[string]any)["discountAmount"].(map[string]any)
	if amount["amount"] != "5.00" || amount["appliesOnEachItem"] != false {
		t.Errorf("discountAmount = %v", amount)
	}
	// The same code twice: Shopify's userErrors come back.
	_, err = client.CreateDiscountCode(ctx, shop, tok.AccessToken, app.Discount{Code: "SAVE5-KARI", Amount: "5.00"})
	var ue app.UserErrors
	if !errors.As(err, &ue) {
		t.Errorf("duplicate code: err = %v, want UserErrors", err)
	}
	for _, d := range []app.Discount{{}, {Percentage: 0.1, Amount: "5"}, {Percentage: 10}} {
		if _, err := client.CreateDiscountCode(ctx, shop, tok.AccessToken, d); err == nil {
			t.Errorf("CreateDiscountCode(%+v) accepted", d)
		}
	}
}
