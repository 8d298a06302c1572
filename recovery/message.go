package recovery

import "time"

// MessageStatus is where a message is on its way to the shopper.
type MessageStatus string

// Message statuses.
const (
	// MessageOutbox was rendered and kept because its channel has no
	// provider configured. It was NOT sent.
	MessageOutbox MessageStatus = "outbox"
	MessageSent   MessageStatus = "sent"
	MessageFailed MessageStatus = "failed"
	// Provider reports that may follow a send.
	MessageDelivered   MessageStatus = "delivered"
	MessageUndelivered MessageStatus = "undelivered"
	MessageBounced     MessageStatus = "bounced"
	// MessageUnknown: the provider may or may not have accepted it.
	MessageUnknown MessageStatus = "unknown"
)

// Message is one rendered reminder and its delivery trail.
type Message struct {
	ID       uint64  `json:"id"`
	ShopID   uint64  `json:"shop_id"`
	CartID   uint64  `json:"cart_id"`
	Step     int     `json:"step"`
	Channel  Channel `json:"channel"`
	Template string  `json:"template"`
	// Variant is the wording sent when the step is under test.
	Variant string `json:"variant,omitempty"`
	Locale  string `json:"locale,omitempty"`
	// To is the email address or E.164 number.
	To      string `json:"to"`
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// RestoreURL is the signed link in the message.
	RestoreURL string `json:"restore_url"`
	// UnsubscribeURL is the signed one-click opt-out link (email only).
	UnsubscribeURL string `json:"unsubscribe_url,omitempty"`
	DiscountCode   string `json:"discount_code,omitempty"`
	// FromName and ReplyTo are the shop's sender identity for email.
	FromName string `json:"from_name,omitempty"`
	ReplyTo  string `json:"reply_to,omitempty"`
	// Encoding ("GSM-7" or "UCS-2") and Segments describe an SMS body.
	Encoding string `json:"encoding,omitempty"`
	Segments int    `json:"segments,omitempty"`

	Status     MessageStatus `json:"status"`
	Provider   string        `json:"provider,omitempty"`
	ProviderID string        `json:"provider_id,omitempty"`
	Error      string        `json:"error,omitempty"`
	ErrorCode  string        `json:"error_code,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	SentAt     time.Time     `json:"sent_at,omitzero"`
	// History is the message's path: claimed, then sent (or outbox,
	// failed), then what the provider reported.
	History []MessageEvent `json:"history"`
}

// MessageEvent is one step on a message's path.
type MessageEvent struct {
	At     time.Time     `json:"at"`
	Status MessageStatus `json:"status"`
	Detail string        `json:"detail,omitempty"`
}

// MessageClaimed is the first event of every message: its step was
// committed to sending.
const MessageClaimed MessageStatus = "claimed"

// DeliveryReport is what a provider later says about a message.
type DeliveryReport struct {
	Provider   string
	ProviderID string
	Status     MessageStatus
	ErrorCode  string
	// StopContact says the provider found the recipient opted out or the
	// address unusable: cartback stops using it for this shop.
	StopContact bool
}

// Click is one visit of a restore link.
type Click struct {
	ShopID  uint64    `json:"shop_id"`
	CartID  uint64    `json:"cart_id"`
	Step    int       `json:"step"`
	Channel Channel   `json:"channel"`
	At      time.Time `json:"at"`
	Mobile  bool      `json:"mobile"`
}

// OptOut records that a contact asked a shop to stop using a channel.
type OptOut struct {
	ShopID  uint64    `json:"shop_id"`
	Channel Channel   `json:"channel"`
	Contact string    `json:"contact"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}
