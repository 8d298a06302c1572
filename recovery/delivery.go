package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sender hands a message to a provider (an SMTP server, Twilio). It
// returns the provider's id for the message.
type Sender interface {
	Send(ctx context.Context, m *Message) (providerID string, err error)
}

// Pacer is a Sender that paces deliveries (a provider's rate limit). Its
// Send does not wait: the scheduler calls Wait first and then looks at the
// cart once more, so that time spent queueing for the provider never lies
// between the last check for an order and the send.
type Pacer interface {
	Sender
	// Wait blocks until the next delivery may go, or ctx ends.
	Wait(ctx context.Context) error
}

// SendError classifies a failed send so the engine knows whether trying
// again could deliver a second copy.
type SendError struct {
	// Temporary errors were refused before the message was accepted
	// (connection refused, SMTP 4xx, HTTP 429/5xx): trying again is safe.
	Temporary bool
	// Code is the provider's error code, e.g. "550" or "21610".
	Code    string
	Message string
	// StopContact says the recipient opted out at the provider or the
	// address cannot receive: cartback stops using it for the shop.
	StopContact bool
	// Unknown says the provider may have accepted the message before the
	// error (a reply lost after the data was sent): the step is recorded as
	// unknown, never failed and never retried.
	Unknown bool
}

// Error implements the error interface.
func (e *SendError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (code %s)", e.Message, e.Code)
	}
	return e.Message
}

// temporary reports whether err says the send may be tried again.
func temporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// DiscountIssuer creates a single-use discount code for a claimed
// incentive step on the shop's platform (a Shopify discount, a WooCommerce
// coupon), valid until expires.
type DiscountIssuer interface {
	IssueDiscount(ctx context.Context, shop *Shop, cart *Cart, percent int, expires time.Time) (code string, err error)
}

// PurchaseChecker asks the platform, right before a reminder goes out,
// whether the cart was bought in a way no webhook has told cartback yet.
type PurchaseChecker interface {
	Purchased(ctx context.Context, shop *Shop, cart *Cart) (bool, error)
}

// AppUninstaller removes cartback's app from a store it was installed in,
// when an operator erases the shop.
type AppUninstaller interface {
	UninstallApp(ctx context.Context, shop *Shop) error
}

// UniqueDiscountTTL is how long a single-use code stays valid.
const UniqueDiscountTTL = 72 * time.Hour

// RenderInput is everything a template may show.
type RenderInput struct {
	Shop *Shop
	Cart *Cart
	Step StepRun
	// Locale is the language to write in.
	Locale string
	// RestoreURL is the signed link back into the cart.
	RestoreURL string
	// UnsubscribeURL is the signed opt-out link (email).
	UnsubscribeURL string
	DiscountCode   string
	// Variant is the step's wording under test ("A" without a test).
	Variant string
}

// Rendered is a message's content.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Renderer turns a step into the message's content.
type Renderer interface {
	Render(ctx context.Context, in RenderInput) (Rendered, error)
}

// PlainRenderer writes short English text messages. The templates package
// provides the real, localised renderer.
type PlainRenderer struct{}

// Render implements Renderer.
func (PlainRenderer) Render(_ context.Context, in RenderInput) (Rendered, error) {
	name := in.Cart.Contact.FirstName
	if name == "" {
		name = "there"
	}
	shop := in.Shop.Name
	if shop == "" {
		shop = in.Shop.Domain
	}
	if in.Step.Channel == ChannelSMS {
		text := fmt.Sprintf("%s: your cart is saved. %s", shop, in.RestoreURL)
		if in.DiscountCode != "" {
			text += " Code " + in.DiscountCode
		}
		return Rendered{Text: text}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hi %s,\n\nwe saved your cart at %s:\n\n", name, shop)
	for _, it := range in.Cart.Items {
		fmt.Fprintf(&b, "  %d × %s", it.Quantity, it.Title)
		if it.VariantTitle != "" {
			fmt.Fprintf(&b, " (%s)", it.VariantTitle)
		}
		fmt.Fprintf(&b, " — %s\n", FormatMoney(it.LinePrice, in.Cart.Currency))
	}
	fmt.Fprintf(&b, "\nTotal: %s\n\nPick up where you left off: %s\n", FormatMoney(in.Cart.Totals.Total, in.Cart.Currency), in.RestoreURL)
	if in.DiscountCode != "" {
		fmt.Fprintf(&b, "\nUse the code %s at checkout.\n", in.DiscountCode)
	}
	if in.UnsubscribeURL != "" {
		fmt.Fprintf(&b, "\nNo more reminders: %s\n", in.UnsubscribeURL)
	}
	subject := "You left something in your cart"
	switch in.Step.Template {
	case TemplateFollowUp:
		subject = "Your cart is still waiting"
	case TemplateIncentive:
		subject = "A little something for your cart"
	}
	return Rendered{Subject: subject + " at " + shop, Text: b.String()}, nil
}

// FormatMoney writes minor units as a plain decimal amount with the
// currency code, e.g. "499.00 NOK" (just the amount when the currency is
// unknown).
func FormatMoney(minor int64, currency string) string {
	digits := CurrencyDigits(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	amount := fmt.Sprintf("%s%d", sign, minor)
	if digits > 0 {
		div := int64(1)
		for range digits {
			div *= 10
		}
		amount = fmt.Sprintf("%s%d.%0*d", sign, minor/div, digits, minor%div)
	}
	return strings.TrimSpace(amount + " " + currency)
}
