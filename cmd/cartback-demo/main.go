// Command cartback-demo walks a running cartback through one abandoned
// cart, without a store or a mail or SMS account: it connects a demo
// Shopify shop, shortens its sequence to seconds, sends a signed checkout
// webhook as Shopify would, waits for the reminder in the outbox, clicks
// the reminder's restore link, sends the order, and shows how the cart was
// recovered. Everything it makes is visible on the admin page afterwards.
//
//	go run ./cmd/cartback                          # in one terminal
//	go run ./cmd/cartback-demo -token "$TOKEN"     # in another
//
// Running it again reuses the demo shop (its webhook secret is replaced by
// a new one) and makes a new cart with a new shopper. It is meant for a
// service in outbox mode (no SMTP configured); with a mail provider the
// reminder goes to an example.com address, which takes no mail.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/cartback/cartback/recovery"
)

func main() {
	var o options
	flag.StringVar(&o.URL, "url", "http://localhost:8080", "base URL of the running cartback")
	flag.StringVar(&o.Token, "token", os.Getenv("CARTBACK_ADMIN_TOKEN"), "admin token (default $CARTBACK_ADMIN_TOKEN; the first start logs a generated one)")
	flag.StringVar(&o.Shop, "shop", "demo.myshopify.com", "domain of the demo shop; a shop of that domain not made by the demo is left alone")
	flag.DurationVar(&o.After, "after", 10*time.Second, "first reminder this long after the checkout; the incentive comes after twice as long")
	flag.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cartback-demo:", err)
		os.Exit(1)
	}
}

// options are the demo's settings.
type options struct {
	URL, Token, Shop string
	After, Timeout   time.Duration
}

func (o options) validate() error {
	switch {
	case o.Token == "":
		return errors.New("no admin token: pass -token or set CARTBACK_ADMIN_TOKEN (a first start logs a generated one)")
	case !strings.HasSuffix(o.Shop, ".myshopify.com"):
		return fmt.Errorf("-shop %q: a Shopify shop is named by its *.myshopify.com domain", o.Shop)
	case o.After < 2*time.Second:
		return fmt.Errorf("-after %v: at least 2s", o.After)
	}
	return nil
}

// run connects the demo shop and takes one cart through its episode,
// telling out what happens.
func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	c := &client{base: strings.TrimSuffix(o.URL, "/"), token: o.Token, shop: o.Shop}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	secret, created, err := c.connectShop(ctx)
	if err != nil {
		return err
	}
	if created {
		say("1. Connected the demo shop %s.", o.Shop)
	} else {
		say("1. Reusing the demo shop %s, with a new webhook secret.", o.Shop)
	}
	c.secret = secret
	abandon := o.After / 2
	if err := c.putSequence(ctx, abandon, o.After); err != nil {
		return err
	}
	say("2. Its sequence: abandoned after %v without activity; a reminder email after %v, an incentive email with WELCOME10 after %v.", abandon, o.After, 2*o.After)

	co, err := newCheckout(time.Now())
	if err != nil {
		return err
	}
	cartID, err := c.sendCheckout(ctx, co)
	if err != nil {
		return err
	}
	say("3. Shopify-style checkouts/create webhook for %s (%s %s): stored as cart %d.", co.email, co.total, co.currency, cartID)

	say("4. Waiting for the reminder (due at %s)…", time.Now().Add(o.After).Format("15:04:05"))
	msg, err := c.waitForReminder(ctx, cartID)
	if err != nil {
		return err
	}
	if msg.Status == "outbox" {
		say("   In the outbox (not sent: no mail provider is configured): %q to %s.", msg.Subject, msg.To)
	} else {
		say("   Sent through the configured mail provider (%s): %q to %s, an example.com address that takes no mail.", msg.Status, msg.Subject, msg.To)
	}
	say("   Its restore link: %s", msg.RestoreURL)

	status, location, err := c.click(ctx, msg.RestoreURL)
	if err != nil {
		return err
	}
	say("5. The shopper clicks it: %d %s → %s", status, http.StatusText(status), location)
	if status != 303 {
		return fmt.Errorf("the restore link answered %d, not a redirect to the checkout", status)
	}
	if err := c.waitForClick(ctx, cartID); err != nil {
		return err
	}

	if err := c.sendOrder(ctx, co); err != nil {
		return err
	}
	say("6. Shopify-style orders/create webhook for that checkout.")
	cart, err := c.cart(ctx, cartID)
	if err != nil {
		return err
	}
	say("7. Cart %d: %s, recovered %s, %s.", cartID, cart.State, attributionText(cart.Conversion.Attribution), recovery.FormatMoney(cart.Conversion.Total, cart.Currency))
	for i, st := range cart.Steps {
		line := fmt.Sprintf("   step %d (%s, %s): %s", i+1, st.Channel, st.Template, st.State)
		if st.Reason != "" {
			line += " (" + st.Reason + ")"
		}
		say("%s", line)
	}
	say("See it on the dashboard: %s/admin/shops/%s/dashboard", c.base, o.Shop)
	return nil
}

func attributionText(a string) string {
	switch a {
	case "link":
		return "via the link"
	case "reminder":
		return "after the reminder"
	}
	return "(" + a + ")"
}
