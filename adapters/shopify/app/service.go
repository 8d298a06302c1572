package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cartback/cartback/recovery"
)

// stateCookie carries the signed OAuth state between install and callback.
const stateCookie = "cartback_shopify_state"

// App runs the Shopify app inside the service: the install flow, the shops'
// tokens, webhook subscriptions, reconciliation, the purchase check before
// a reminder and single-use discount codes.
type App struct {
	Config    Config
	Client    *Client
	Sealer    *Sealer
	StateKey  []byte
	PublicURL string
	Service   *recovery.Service
	Logger    *slog.Logger
	Now       func() time.Time
	// AfterInstall is where the merchant lands once the app is installed.
	AfterInstall string
	// SignIn, when set, gives the path of a link that signs the merchant
	// into the admin page for their shop only, bound to the browser w
	// answers; it replaces AfterInstall.
	SignIn func(w http.ResponseWriter, r *http.Request, shop string) string

	// refreshing holds one *sync.Mutex per shop id: one refresh at a time,
	// since each spends the refresh token the next one would need.
	refreshing sync.Map
}

var (
	_ recovery.PurchaseChecker = (*App)(nil)
	_ recovery.DiscountIssuer  = (*App)(nil)
	_ recovery.AppUninstaller  = (*App)(nil)
)

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Handler serves GET /shopify/install and GET /shopify/callback.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /shopify/install", a.install)
	mux.HandleFunc("GET /shopify/callback", a.callback)
	return mux
}

func (a *App) install(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	shop := q.Get("shop")
	// Shopify signs the query when the merchant starts from the admin;
	// an unsigned request must still name a valid shop.
	if q.Get("hmac") != "" && (!VerifyQuery(q, a.Config.Secrets()...) || !FreshTimestamp(q.Get("timestamp"), a.now())) {
		http.Error(w, "invalid or expired install request", http.StatusUnauthorized)
		return
	}
	if !ValidShopDomain(shop) {
		http.Error(w, "shop must be a *.myshopify.com domain", http.StatusBadRequest)
		return
	}
	state, cookie := NewState(a.StateKey, shop, a.now())
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: cookie, Path: "/shopify/", MaxAge: 600,
		HttpOnly: true, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, a.Config.AuthorizeURL(shop, a.PublicURL+"/shopify/callback", state), http.StatusSeeOther)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	shop, code, err := CheckCallback(q, a.now(), a.Config.Secrets()...)
	if err != nil {
		http.Error(w, "invalid callback", http.StatusUnauthorized)
		return
	}
	c, err := r.Cookie(stateCookie)
	if err != nil || !CheckState(a.StateKey, c.Value, q.Get("state"), shop, a.now()) {
		http.Error(w, "invalid or expired state: start the installation again", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/shopify/", MaxAge: -1, HttpOnly: true})
	tok, err := a.Client.ExchangeCode(r.Context(), shop, code)
	if err != nil {
		a.Logger.Error("shopify install: code exchange", "shop", shop, "error", err)
		http.Error(w, "Shopify did not grant access; please try again", http.StatusBadGateway)
		return
	}
	installed, err := a.store(r.Context(), shop, tok)
	if err != nil {
		a.Logger.Error("shopify install: store token", "shop", shop, "error", err)
		http.Error(w, "could not record the installation", http.StatusInternalServerError)
		return
	}
	a.adoptDetails(r.Context(), installed, tok.AccessToken)
	if err := a.ensureWebhooks(r.Context(), shop, tok.AccessToken); err != nil {
		a.Logger.Error("shopify install: webhook subscriptions", "shop", shop, "error", err)
	}
	a.Logger.Info("shopify app installed", "shop", shop)
	next := a.AfterInstall
	if a.SignIn != nil {
		next = a.PublicURL + a.SignIn(w, r, shop)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// store seals a fresh token pair and records it on the shop.
func (a *App) store(ctx context.Context, shop string, tok Token) (*recovery.Shop, error) {
	sealed, err := a.Sealer.SealToken(tok, shop)
	if err != nil {
		return nil, err
	}
	return a.Service.InstallShopify(ctx, shop, recovery.ShopifyAccess{SealedToken: sealed, ExpiresAt: tok.ExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt})
}

// adoptDetails fills in the shop's name, time zone and country from its
// Shopify settings where its record has none. A failure only costs the
// defaults, so it is logged, not returned.
func (a *App) adoptDetails(ctx context.Context, shop *recovery.Shop, accessToken string) {
	if shop.Name != "" && shop.Settings.TimeZone != "" && shop.Settings.Country != "" {
		return
	}
	d, err := a.Client.ShopDetails(ctx, shop.Domain, accessToken)
	if err == nil {
		_, err = a.Service.AdoptShopDetails(ctx, shop.ID, d)
	}
	if err != nil {
		a.Logger.Warn("shopify: shop name and time zone not read", "shop", shop.Domain, "error", err)
	}
}

func (a *App) ensureWebhooks(ctx context.Context, shop, accessToken string) error {
	n, err := a.Client.EnsureWebhooks(ctx, shop, accessToken, a.PublicURL+"/webhooks/shopify", nil)
	if n > 0 {
		a.Logger.Info("shopify webhook subscriptions created", "shop", shop, "created", n)
	}
	a.noteWebhookProblem(ctx, shop, err)
	return err
}

// webhookProblem starts the Problem of a shop whose webhook subscriptions
// Shopify refused.
const webhookProblem = "Shopify refused some webhook subscriptions, so carts or orders may not arrive"

// noteWebhookProblem shows on the shop's record (the admin page and API)
// that Shopify refused a subscription, and clears it once none is refused:
// a shop whose app lacks protected customer data approval would otherwise
// receive no carts with nothing said but a log line.
func (a *App) noteWebhookProblem(ctx context.Context, domain string, err error) {
	var ue UserErrors
	refused := err != nil && errors.As(err, &ue)
	sh, gerr := a.Service.ShopByDomain(ctx, domain)
	if gerr != nil || sh.Shopify == nil || sh.Shopify.NeedsReinstall {
		return // a lost token says more; it has its own problem
	}
	had := strings.HasPrefix(sh.Shopify.Problem, webhookProblem)
	if !refused && !had {
		return
	}
	problem := ""
	if refused {
		problem = webhookProblem + " (" + ue.Error() + "): check the app's protected customer data access in the Partner Dashboard."
	}
	if _, err := a.Service.UpdateShopifyAccess(ctx, sh.ID, func(acc *recovery.ShopifyAccess) {
		if !acc.NeedsReinstall {
			acc.Problem = problem
		}
	}); err != nil {
		a.Logger.Warn("shopify: record the webhook problem", "shop", domain, "error", err)
	}
}

// errNoAccess is returned for a shop cartback cannot call.
var errNoAccess = errors.New("no usable Shopify access for this shop")

// token returns a shop's token, refreshed first when it is about to
// expire.
func (a *App) token(ctx context.Context, shop *recovery.Shop) (Token, error) {
	if shop.Shopify == nil || len(shop.Shopify.SealedToken) == 0 || shop.Shopify.NeedsReinstall || shop.Status != recovery.ShopActive {
		return Token{}, errNoAccess
	}
	tok, err := a.Sealer.OpenToken(shop.Shopify.SealedToken, shop.Domain)
	if err != nil {
		return Token{}, fmt.Errorf("open token: %w", err)
	}
	if !tok.NeedsRefresh(a.now(), DefaultRefreshMargin) {
		return tok, nil
	}
	return a.refresh(ctx, shop, tok)
}

// refresh renews a token and stores the new pair before anything uses it:
// the old refresh token stops working once the new one is used. Callers
// hold copies of the shop loaded at different times, so refreshes of one
// shop take turns, and each first looks at the stored pair: when another
// caller has renewed tok meanwhile, that pair is the answer, and only a
// refusal of the stored refresh token marks the shop for a re-install.
func (a *App) refresh(ctx context.Context, shop *recovery.Shop, tok Token) (Token, error) {
	mu, _ := a.refreshing.LoadOrStore(shop.ID, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	var sealedBefore []byte
	if stored, err := a.Service.ShopByDomain(ctx, shop.Domain); err != nil {
		return Token{}, err
	} else if stored.Shopify != nil && len(stored.Shopify.SealedToken) > 0 {
		sealedBefore = stored.Shopify.SealedToken
		if cur, err := a.Sealer.OpenToken(sealedBefore, shop.Domain); err == nil && cur.RefreshToken != tok.RefreshToken {
			return cur, nil // renewed by another caller (or a new install)
		}
	}
	fresh, err := a.Client.Refresh(ctx, shop.Domain, tok.RefreshToken)
	if errors.Is(err, ErrInvalidGrant) || (err == nil && fresh.AccessToken == "") || (err != nil && tok.RefreshExpired(a.now())) {
		a.Logger.Error("shopify token cannot be refreshed; the merchant must open the app again", "shop", shop.Domain, "error", err)
		_, uerr := a.Service.UpdateShopifyAccess(ctx, shop.ID, func(s *recovery.ShopifyAccess) {
			if !bytes.Equal(s.SealedToken, sealedBefore) {
				return // a new install meanwhile: its token is not the one refused
			}
			s.NeedsReinstall, s.Problem = true, "the access token expired and could not be renewed: open the app in Shopify to reconnect"
		})
		return Token{}, errors.Join(errNoAccess, uerr)
	} else if err != nil {
		return Token{}, err
	}
	sealed, err := a.Sealer.SealToken(fresh, shop.Domain)
	if err != nil {
		return Token{}, err
	}
	_, err = a.Service.UpdateShopifyAccess(ctx, shop.ID, func(s *recovery.ShopifyAccess) {
		s.SealedToken, s.ExpiresAt, s.RefreshExpiresAt, s.NeedsReinstall, s.Problem = sealed, fresh.ExpiresAt, fresh.RefreshExpiresAt, false, ""
	})
	if err != nil {
		return Token{}, err
	}
	a.Logger.Info("shopify token refreshed", "shop", shop.Domain, "expires_at", fresh.ExpiresAt)
	if err := a.ensureWebhooks(ctx, shop.Domain, fresh.AccessToken); err != nil {
		a.Logger.Warn("shopify webhook check after refresh", "shop", shop.Domain, "error", err)
	}
	return fresh, nil
}

// call runs fn with the shop's access token. A token Shopify refuses
// (expired early, or revoked and re-granted) is refreshed once and fn runs
// again with the new one.
func (a *App) call(ctx context.Context, shop *recovery.Shop, fn func(token string) error) error {
	tok, err := a.token(ctx, shop)
	if err != nil {
		return err
	}
	err = fn(tok.AccessToken)
	if !errors.Is(err, ErrUnauthorized) {
		return err
	}
	// Refresh with the token just used: when token() has refreshed it,
	// shop still holds the pair that refresh replaced.
	if tok, err = a.refresh(ctx, shop, tok); err != nil {
		return err
	}
	return fn(tok.AccessToken)
}

// installedShops returns the shops installed through the app.
func (a *App) installedShops(ctx context.Context) ([]*recovery.Shop, error) {
	shops, err := a.Service.Shops(ctx)
	if err != nil {
		return nil, err
	}
	var out []*recovery.Shop
	for _, s := range shops {
		if s.Platform == recovery.PlatformShopify && s.Shopify != nil && s.Status == recovery.ShopActive && !s.Shopify.NeedsReinstall {
			out = append(out, s)
		}
	}
	return out, nil
}

// Maintain refreshes tokens that are about to expire and checks every
// shop's webhook subscriptions: at start and then periodically.
func (a *App) Maintain(ctx context.Context) {
	shops, err := a.installedShops(ctx)
	if err != nil {
		a.Logger.Error("shopify maintenance", "error", err)
		return
	}
	for _, s := range shops {
		err := a.call(ctx, s, func(tok string) error {
			// Shops installed before their details were read get them now.
			a.adoptDetails(ctx, s, tok)
			return a.ensureWebhooks(ctx, s.Domain, tok)
		})
		if err != nil && !errors.Is(err, errNoAccess) {
			a.Logger.Warn("shopify webhook subscriptions", "shop", s.Domain, "error", err)
		}
	}
}

// Reconcile imports, for every installed shop, the abandoned checkouts
// updated since the last run: those whose webhooks never arrived become
// carts like any other. One already stored is left as its webhooks made
// it (the list carries less than they do), and each run reads again the
// last reconcileOverlap before the newest it saw, since Shopify's search
// index trails its writes.
func (a *App) Reconcile(ctx context.Context) {
	shops, err := a.installedShops(ctx)
	if err != nil {
		a.Logger.Error("shopify reconciliation", "error", err)
		return
	}
	for _, s := range shops {
		imported := 0
		var cursor time.Time
		err := a.call(ctx, s, func(tok string) (err error) {
			imported = 0
			cursor, err = a.Client.AbandonedCheckouts(ctx, s.Domain, tok, s.Shopify.SyncedUntil, 0, func(ac AbandonedCheckout) error {
				cart, err := ac.Cart(s.Settings.Country)
				if err != nil {
					a.Logger.Warn("shopify reconciliation: checkout skipped", "shop", s.Domain, "error", err)
					return nil
				}
				res, err := a.Service.Apply(ctx, s.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: cart, Backfill: true})
				if err == nil && res.Outcome == recovery.OutcomeCreated {
					imported++
				}
				return err
			})
			return err
		})
		if errors.Is(err, errNoAccess) {
			continue
		} else if err != nil {
			a.Logger.Error("shopify reconciliation", "shop", s.Domain, "error", err)
			continue
		}
		if imported > 0 {
			a.Logger.Info("shopify reconciliation imported checkouts no webhook brought", "shop", s.Domain, "carts", imported)
		}
		if cursor = cursor.Add(-reconcileOverlap); cursor.After(s.Shopify.SyncedUntil) {
			a.Service.UpdateShopifyAccess(ctx, s.ID, func(acc *recovery.ShopifyAccess) { acc.SyncedUntil = cursor })
		}
	}
}

// reconcileOverlap is how far before the newest checkout it saw a
// reconciliation starts the next one: a checkout updated just before that
// one may not have been in Shopify's search index yet.
const reconcileOverlap = 5 * time.Minute

// Purchased asks Shopify whether the cart's checkout became an order.
func (a *App) Purchased(ctx context.Context, shop *recovery.Shop, cart *recovery.Cart) (bool, error) {
	if cart.Keys.CheckoutToken == "" {
		return false, nil
	}
	var done bool
	err := a.call(ctx, shop, func(tok string) (err error) {
		done, err = a.Client.CheckoutCompleted(ctx, shop.Domain, tok, cart.Keys.CheckoutToken)
		return err
	})
	if errors.Is(err, errNoAccess) && shop.Shopify == nil {
		return false, nil // a shop connected without the app: webhooks only
	}
	// An installed shop that cannot be asked (its access lost) is an
	// error, so that a shop holding unverified reminders holds them.
	return done, err
}

// IssueDiscount creates a single-use percentage code in the shop.
func (a *App) IssueDiscount(ctx context.Context, shop *recovery.Shop, cart *recovery.Cart, percent int, expires time.Time) (string, error) {
	var code string
	err := a.call(ctx, shop, func(tok string) (err error) {
		code, err = a.Client.CreateDiscountCode(ctx, shop.Domain, tok, Discount{
			Title: fmt.Sprintf("cartback: cart %d", cart.ID), Percentage: float64(percent) / 100, StartsAt: a.now(), EndsAt: expires,
		})
		return err
	})
	return code, err
}

// UninstallApp removes the app from a shop installed through it, for an
// operator erasing the shop: otherwise the app would stay in the store's
// admin and Shopify would keep sending its webhooks.
func (a *App) UninstallApp(ctx context.Context, shop *recovery.Shop) error {
	return a.call(ctx, shop, func(tok string) error {
		return a.Client.UninstallApp(ctx, shop.Domain, tok)
	})
}
