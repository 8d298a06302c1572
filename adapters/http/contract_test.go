package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

var updateContract = flag.Bool("update-contract", false, "rewrite the WooCommerce plugin contract file restore_response.json")

const contractDir = "../woocommerce/testdata/contract/"

// TestWooCommercePluginContract holds both sides of the plugin contract to
// the same files: the bytes and signature the plugin's PHP tests produce
// must be stored by the sidecar, and the sidecar's restore answer must be
// what the PHP restore test consumes.
func TestWooCommercePluginContract(t *testing.T) {
	e := newEnv(t)
	shop, err := e.svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: "store.example", WebhookSecret: "woo-shop-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(contractDir + "cart_updated.json")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(contractDir + "cart_updated.sig")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/woocommerce", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-WC-Webhook-Topic", "cart.updated")
	req.Header.Set("X-WC-Webhook-Source", "https://store.example/")
	req.Header.Set("X-WC-Webhook-Signature", string(sig))
	r := e.do(req)
	if r.status != 200 || r.body["outcome"] != "created" {
		t.Fatalf("the plugin's cart.updated was not stored: %d %s", r.status, r.raw)
	}
	id := cartID(t, r)
	c := e.cart(shop, id)
	if c.Keys.CartKey != "t_contract0001" || c.Contact.Email != "kari.nordmann@example.no" || c.Currency != "NOK" || len(c.Items) != 2 || c.Contact.Locale != "nb-NO" {
		t.Errorf("stored cart: %+v", c)
	}

	// An incentive step with a code, as the scheduler would have planned.
	err = e.db.Update(context.Background(), func(tx recovery.Tx) error {
		c, err := tx.Cart(id)
		if err != nil {
			return err
		}
		c.Steps = []recovery.StepRun{{Index: 0, Channel: recovery.ChannelEmail, Template: recovery.TemplateIncentive, DiscountCode: "BACK10", State: recovery.StepSent}}
		return tx.PutCart(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	token := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: shop.ID, CartID: id, Step: 0, Channel: recovery.ChannelEmail, Expires: time.Now().Add(time.Hour)})
	r = e.pluginGet("/api/woocommerce/restore/"+token, "https://store.example/", "woo-shop-secret-0123456789", time.Now())
	if r.status != 200 {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	if *updateContract {
		if err := os.WriteFile(contractDir+"restore_response.json", []byte(r.raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(contractDir + "restore_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(r.raw), &got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("the sidecar's restore answer drifted from the plugin's contract\n got: %s\nwant: %s\n(run with -update-contract after changing the plugin's restore test)", r.raw, golden)
	}
}
