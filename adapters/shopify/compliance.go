package shopify

import (
	"strconv"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// Mandatory compliance topics every Shopify app must answer.
const (
	TopicCustomersRedact      = "customers/redact"
	TopicCustomersDataRequest = "customers/data_request"
	TopicShopRedact           = "shop/redact"
)

// compliancePayload is the body of customers/redact and
// customers/data_request.
type compliancePayload struct {
	Customer struct {
		Email string `json:"email"`
		Phone string `json:"phone"`
	} `json:"customer"`
	DataRequest struct {
		ID payload.ID `json:"id"`
	} `json:"data_request"`
}

// decodeCompliance reads a customer redact or data request.
func decodeCompliance(topic string, body []byte, region string) (recovery.Event, error) {
	var p compliancePayload
	if err := payload.Decode(body, &p); err != nil {
		return recovery.Event{}, err
	}
	c := &recovery.Contact{Email: p.Customer.Email}
	c.Phone, c.PhoneRaw = contactPhone(p.Customer.Phone, region)
	if len(c.Index()) == 0 {
		// cartback keeps carts by email and phone only: with neither, it
		// holds nothing of this customer. Answered 200 (ignored), or
		// Shopify would keep asking.
		return recovery.Event{Kind: recovery.EventIgnored}, nil
	}
	if topic == TopicCustomersRedact {
		return recovery.Event{Kind: recovery.EventCustomerRedact, Customer: c}, nil
	}
	id := string(p.DataRequest.ID)
	if _, err := strconv.ParseUint(id, 10, 64); id != "" && err != nil {
		return recovery.Event{}, recovery.Errorf(recovery.EINVALID, "data_request.id: not an id")
	}
	return recovery.Event{Kind: recovery.EventCustomerDataRequest, Customer: c, RequestID: id}, nil
}
