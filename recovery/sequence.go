package recovery

import (
	"fmt"
	"regexp"
	"time"
)

// Channel is a way of reaching a shopper.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Template kinds of the default sequence.
const (
	TemplateReminder  = "reminder"
	TemplateFollowUp  = "follow-up"
	TemplateIncentive = "incentive"
)

// Step is one planned message of a sequence.
type Step struct {
	Channel Channel `json:"channel"`
	// After is measured from the cart's last activity.
	After Duration `json:"after"`
	// Template names the message kind: reminder, follow-up or incentive.
	Template string `json:"template"`
	// DiscountCode is shown in this step's message; an incentive step
	// without one uses the shop's code.
	DiscountCode string `json:"discount_code,omitempty"`
	// Variants, when set, test up to four wordings of the step against
	// each other: each cart gets one, drawn by weight, the same every time.
	Variants []Variant `json:"variants,omitempty"`
}

// Variant is one wording of a step under test: its template variant and
// its share of carts.
type Variant struct {
	// Name is "A", "B", "C" or "D"; A is the shop's plain template.
	Name string `json:"name"`
	// Weight is the variant's relative share, 1-100.
	Weight int `json:"weight"`
}

// MaxVariants bounds a step's variants.
const MaxVariants = 4

// Sequence is a shop's reminder plan for one cart episode.
type Sequence struct {
	// AbandonAfter is how long a cart may sit without activity, and without
	// an order, before it counts as abandoned.
	AbandonAfter Duration `json:"abandon_after"`
	Steps        []Step   `json:"steps"`
	// MaxMessages caps the messages of one episode, across channels.
	MaxMessages int `json:"max_messages,omitempty"`
	// MaxAge is how old (since last activity) a cart may be for a reminder
	// still to make sense, e.g. after downtime.
	MaxAge Duration `json:"max_age,omitempty"`
	// FrequencyCap messages per FrequencyWindow, per contact and shop,
	// across carts and channels; a step that would exceed it waits.
	FrequencyCap    int      `json:"frequency_cap,omitempty"`
	FrequencyWindow Duration `json:"frequency_window,omitempty"`
	// SMSFrequencyCap texts per SMSFrequencyWindow, per contact and shop,
	// on top of the cross-channel cap.
	SMSFrequencyCap    int      `json:"sms_frequency_cap,omitempty"`
	SMSFrequencyWindow Duration `json:"sms_frequency_window,omitempty"`
}

// Sequence defaults.
const (
	DefaultAbandonAfter    = 15 * time.Minute
	DefaultMaxMessages     = 3
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultFrequencyCap    = 2
	DefaultFrequencyWindow = 24 * time.Hour
	// MaxSteps bounds a sequence.
	MaxSteps = 8
	// StepDeadline is how long after its due time a step may still go out,
	// when it had to wait (frequency cap, quiet hours, retries).
	StepDeadline = 6 * time.Hour
)

// DefaultSequence is best practice: a plain "we saved your cart" email after
// an hour, one SMS a few hours later (only to shoppers who agreed to SMS), a
// follow-up after a day and an incentive last, after three days.
func DefaultSequence() Sequence {
	return Sequence{
		AbandonAfter: Duration(DefaultAbandonAfter),
		Steps: []Step{
			{Channel: ChannelEmail, After: Duration(time.Hour), Template: TemplateReminder},
			{Channel: ChannelSMS, After: Duration(4 * time.Hour), Template: TemplateReminder},
			{Channel: ChannelEmail, After: Duration(24 * time.Hour), Template: TemplateFollowUp},
			{Channel: ChannelEmail, After: Duration(72 * time.Hour), Template: TemplateIncentive},
		},
		MaxMessages:        DefaultMaxMessages,
		MaxAge:             Duration(DefaultMaxAge),
		FrequencyCap:       DefaultFrequencyCap,
		FrequencyWindow:    Duration(DefaultFrequencyWindow),
		SMSFrequencyCap:    DefaultSMSFrequencyCap,
		SMSFrequencyWindow: Duration(DefaultSMSFrequencyWindow),
	}
}

// withDefaults fills the limits a stored sequence left at zero.
func (q Sequence) withDefaults() Sequence {
	d := DefaultSequence()
	if q.AbandonAfter == 0 {
		q.AbandonAfter = d.AbandonAfter
	}
	if q.MaxMessages == 0 {
		q.MaxMessages = d.MaxMessages
	}
	if q.MaxAge == 0 {
		q.MaxAge = d.MaxAge
	}
	if q.FrequencyCap == 0 {
		q.FrequencyCap = d.FrequencyCap
	}
	if q.FrequencyWindow == 0 {
		q.FrequencyWindow = d.FrequencyWindow
	}
	if q.SMSFrequencyCap == 0 {
		q.SMSFrequencyCap = d.SMSFrequencyCap
	}
	if q.SMSFrequencyWindow == 0 {
		q.SMSFrequencyWindow = d.SMSFrequencyWindow
	}
	return q
}

var templatePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Validate returns an EINVALID error naming the first bad field.
func (q Sequence) Validate() error {
	switch {
	case q.AbandonAfter < 0:
		return Errorf(EINVALID, "abandon_after: must not be negative")
	case len(q.Steps) > MaxSteps:
		return Errorf(EINVALID, "steps: at most %d steps", MaxSteps)
	case q.MaxMessages < 0 || q.MaxMessages > MaxSteps:
		return Errorf(EINVALID, "max_messages: must be between 1 and %d", MaxSteps)
	case q.MaxAge < 0:
		return Errorf(EINVALID, "max_age: must not be negative")
	case q.FrequencyCap < 0:
		return Errorf(EINVALID, "frequency_cap: must not be negative")
	case q.FrequencyWindow < 0:
		return Errorf(EINVALID, "frequency_window: must not be negative")
	case q.SMSFrequencyCap < 0:
		return Errorf(EINVALID, "sms_frequency_cap: must not be negative")
	case q.SMSFrequencyWindow < 0:
		return Errorf(EINVALID, "sms_frequency_window: must not be negative")
	}
	abandon, maxAge := q.withDefaults().AbandonAfter, q.withDefaults().MaxAge
	var prev Duration
	for i, st := range q.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		switch {
		case st.Channel != ChannelEmail && st.Channel != ChannelSMS:
			return Errorf(EINVALID, "%s.channel: must be %q or %q", field, ChannelEmail, ChannelSMS)
		case st.After < abandon:
			return Errorf(EINVALID, "%s.after: must be at least abandon_after (%s)", field, time.Duration(abandon))
		case st.After < prev:
			return Errorf(EINVALID, "%s.after: steps must be in order of time", field)
		case st.After > maxAge:
			// It would fall due on a cart already too old to remind.
			return Errorf(EINVALID, "%s.after: must be at most max_age (%s)", field, time.Duration(maxAge))
		case !templatePattern.MatchString(st.Template):
			return Errorf(EINVALID, "%s.template: must be a name such as %q", field, TemplateReminder)
		case len(st.DiscountCode) > 64:
			return Errorf(EINVALID, "%s.discount_code: at most 64 characters", field)
		case len(st.Variants) > MaxVariants:
			return Errorf(EINVALID, "%s.variants: at most %d", field, MaxVariants)
		}
		seen := map[string]bool{}
		for j, v := range st.Variants {
			vf := fmt.Sprintf("%s.variants[%d]", field, j)
			switch {
			case len(v.Name) != 1 || v.Name < "A" || v.Name > "D":
				return Errorf(EINVALID, "%s.name: must be A, B, C or D", vf)
			case seen[v.Name]:
				return Errorf(EINVALID, "%s.name: %s appears twice", vf, v.Name)
			case v.Weight < 1 || v.Weight > 100:
				return Errorf(EINVALID, "%s.weight: must be between 1 and 100", vf)
			}
			seen[v.Name] = true
		}
		prev = st.After
	}
	return nil
}
