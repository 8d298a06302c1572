package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

// pluginGet sends a request signed the way the WooCommerce plugin signs.
func (e *env) pluginGet(path, store, secret string, at time.Time) response {
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	ts, sig := signature.SignRequest(http.MethodGet, path, at, secret)
	req.Header.Set("X-Cartback-Store", store)
	req.Header.Set("X-Cartback-Timestamp", ts)
	req.Header.Set("X-Cartback-Signature", sig)
	return e.do(req)
}

func TestPluginPingAndRestore(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	if r := e.pluginGet("/api/woocommerce/ping", "https://"+wooDomain+"/", wooSecret, now); r.status != 200 || r.body["shop"] != wooDomain {
		t.Fatalf("ping: %d %s", r.status, r.raw)
	}
	for name, r := range map[string]response{
		"wrong secret":    e.pluginGet("/api/woocommerce/ping", "https://"+wooDomain+"/", shopifySecret, now),
		"old timestamp":   e.pluginGet("/api/woocommerce/ping", "https://"+wooDomain+"/", wooSecret, now.Add(-10*time.Minute)),
		"unknown store":   e.pluginGet("/api/woocommerce/ping", "https://elsewhere.example/", wooSecret, now),
		"a shopify store": e.pluginGet("/api/woocommerce/ping", "https://"+shopifyDomain+"/", shopifySecret, now),
	} {
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, r.status)
		}
	}

	// A plugin-captured cart: its restore link leads to the plugin's route.
	body, err := os.ReadFile("../woocommerce/testdata/cart_updated.json")
	if err != nil {
		t.Fatal(err)
	}
	r := e.wooWebhook("cart.updated", "c1", body, wooSecret)
	id := cartID(t, r)
	token := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.woo.ID, CartID: id, Expires: now.Add(time.Hour)})
	status, h, _ := e.get("/r/"+token, "")
	// The event's own restore URL names another host, so the shop's is used.
	if status != http.StatusSeeOther || h.Get("Location") != "https://"+wooDomain+"/?cartback_restore="+token {
		t.Errorf("restore link: %d → %q", status, h.Get("Location"))
	}
	r = e.pluginGet("/api/woocommerce/restore/"+token, "https://"+wooDomain+"/", wooSecret, now)
	var got recovery.PluginRestore
	json.Unmarshal([]byte(r.raw), &got)
	if r.status != 200 || got.CartKey == "" || got.Email == "" || len(got.Items) != 2 || got.Items[0].ProductID != 22 || got.Items[0].VariationID != 23 || got.Items[0].Quantity != 2 {
		t.Errorf("restore: %d %s", r.status, r.raw)
	}
	// Forged, foreign and expired tokens.
	if r := e.pluginGet("/api/woocommerce/restore/AAAA", "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusNotFound {
		t.Errorf("forged token: %d", r.status)
	}
	expired := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.woo.ID, CartID: id, Expires: now.Add(-time.Minute)})
	if r := e.pluginGet("/api/woocommerce/restore/"+expired, "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusGone {
		t.Errorf("expired token: %d", r.status)
	}
	foreign := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Expires: now.Add(time.Hour)})
	if r := e.pluginGet("/api/woocommerce/restore/"+foreign, "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusNotFound {
		t.Errorf("token of another shop: %d", r.status)
	}

	// A bought cart is not rebuilt: the plugin is told so.
	err = e.db.Update(context.Background(), func(tx recovery.Tx) error {
		c, err := tx.Cart(id)
		if err != nil {
			return err
		}
		c.State = recovery.CartConverted
		return tx.PutCart(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.pluginGet("/api/woocommerce/restore/"+token, "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusConflict {
		t.Errorf("restore of a bought cart: %d %s", r.status, r.raw)
	}
	// Nor a deleted one: its link is as good as unknown.
	err = e.db.Update(context.Background(), func(tx recovery.Tx) error {
		c, err := tx.Cart(id)
		if err != nil {
			return err
		}
		c.State = recovery.CartDeleted
		return tx.PutCart(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.pluginGet("/api/woocommerce/restore/"+token, "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusNotFound {
		t.Errorf("restore of a deleted cart: %d %s", r.status, r.raw)
	}
}
