package http

import (
	"net/http"

	"golang.org/x/text/language"

	"github.com/cartback/cartback/templates"
)

// linkPhrases are the words of the pages a shopper may see after clicking
// a link in a reminder. Phrases with %s take the shop's name.
type linkPhrases struct {
	notFoundTitle, notFoundText string

	expiredTitle, expiredText string
	// continueTo leads to the shop by name; continueToShop when it has
	// neither a name nor a domain.
	continueTo, continueToShop string

	unsubscribeTitle, unsubscribeText, unsubscribeButton string
	unsubscribedTitle, unsubscribedText                  string
}

// linkText holds the link pages in every language the reminders are
// written in (templates.Languages): a shopper who read the reminder in
// Finnish should not land on an English page.
var linkText = map[string]linkPhrases{
	"en": {
		notFoundTitle:     "Link not found",
		notFoundText:      "This link is not valid. Please check that it was copied completely.",
		expiredTitle:      "This link has expired",
		expiredText:       "The link to your saved cart is no longer valid, but the shop is still open.",
		continueTo:        "Continue to %s",
		continueToShop:    "Continue to the shop",
		unsubscribeTitle:  "Unsubscribe",
		unsubscribeText:   "Stop cart reminder emails from %s?",
		unsubscribeButton: "Unsubscribe",
		unsubscribedTitle: "You are unsubscribed",
		unsubscribedText:  "%s will not send you cart reminders by email any more.",
	},
	"nb": {
		notFoundTitle:     "Fant ikke lenken",
		notFoundText:      "Denne lenken er ikke gyldig. Sjekk at hele lenken ble kopiert.",
		expiredTitle:      "Lenken er utløpt",
		expiredText:       "Lenken til den lagrede handlekurven din gjelder ikke lenger, men butikken er fortsatt åpen.",
		continueTo:        "Fortsett til %s",
		continueToShop:    "Fortsett til butikken",
		unsubscribeTitle:  "Meld deg av",
		unsubscribeText:   "Vil du slutte å få påminnelser om handlekurven på e-post fra %s?",
		unsubscribeButton: "Meld meg av",
		unsubscribedTitle: "Du er meldt av",
		unsubscribedText:  "%s sender deg ikke flere påminnelser om handlekurven på e-post.",
	},
	"sv": {
		notFoundTitle:     "Länken hittades inte",
		notFoundText:      "Den här länken är inte giltig. Kontrollera att hela länken kopierades.",
		expiredTitle:      "Länken har gått ut",
		expiredText:       "Länken till din sparade varukorg gäller inte längre, men butiken är fortfarande öppen.",
		continueTo:        "Fortsätt till %s",
		continueToShop:    "Fortsätt till butiken",
		unsubscribeTitle:  "Avregistrera dig",
		unsubscribeText:   "Vill du sluta få påminnelser om varukorgen via mejl från %s?",
		unsubscribeButton: "Avregistrera mig",
		unsubscribedTitle: "Du är avregistrerad",
		unsubscribedText:  "%s skickar inte längre påminnelser om varukorgen till dig via mejl.",
	},
	"da": {
		notFoundTitle:     "Linket blev ikke fundet",
		notFoundText:      "Dette link er ikke gyldigt. Tjek, at hele linket blev kopieret.",
		expiredTitle:      "Linket er udløbet",
		expiredText:       "Linket til din gemte indkøbskurv er ikke længere gyldigt, men butikken er stadig åben.",
		continueTo:        "Fortsæt til %s",
		continueToShop:    "Fortsæt til butikken",
		unsubscribeTitle:  "Afmeld",
		unsubscribeText:   "Vil du ikke længere have påmindelser om din indkøbskurv på e-mail fra %s?",
		unsubscribeButton: "Afmeld mig",
		unsubscribedTitle: "Du er afmeldt",
		unsubscribedText:  "%s sender dig ikke flere påmindelser om din indkøbskurv på e-mail.",
	},
	"fi": {
		notFoundTitle:     "Linkkiä ei löytynyt",
		notFoundText:      "Tämä linkki ei ole kelvollinen. Tarkista, että kopioit koko linkin.",
		expiredTitle:      "Linkki on vanhentunut",
		expiredText:       "Tallennetun ostoskorisi linkki ei ole enää voimassa, mutta kauppa on yhä auki.",
		continueTo:        "Siirry kauppaan %s",
		continueToShop:    "Siirry kauppaan",
		unsubscribeTitle:  "Peru muistutukset",
		unsubscribeText:   "Haluatko, ettei %s lähetä sinulle enää ostoskorimuistutuksia sähköpostitse?",
		unsubscribeButton: "Peru muistutukset",
		unsubscribedTitle: "Muistutukset on peruttu",
		unsubscribedText:  "%s ei enää lähetä sinulle ostoskorimuistutuksia sähköpostitse.",
	},
	"de": {
		notFoundTitle:     "Link nicht gefunden",
		notFoundText:      "Dieser Link ist ungültig. Bitte prüfe, ob er vollständig kopiert wurde.",
		expiredTitle:      "Dieser Link ist abgelaufen",
		expiredText:       "Der Link zu deinem gespeicherten Warenkorb gilt nicht mehr, aber der Shop ist weiterhin geöffnet.",
		continueTo:        "Weiter zu %s",
		continueToShop:    "Weiter zum Shop",
		unsubscribeTitle:  "Abmelden",
		unsubscribeText:   "Keine Warenkorb-Erinnerungen per E-Mail mehr von %s erhalten?",
		unsubscribeButton: "Abmelden",
		unsubscribedTitle: "Du bist abgemeldet",
		unsubscribedText:  "%s schickt dir keine Warenkorb-Erinnerungen per E-Mail mehr.",
	},
}

// linkMatcher chooses among templates.Languages, English first: it is
// what a browser asking for none of them gets.
var linkMatcher = func() language.Matcher {
	tags := make([]language.Tag, len(templates.Languages))
	for i, l := range templates.Languages {
		tags[i] = language.MustParse(l)
	}
	return language.NewMatcher(tags)
}()

// pageLanguage picks the language of a link page from the request's
// Accept-Language header, and its phrases. The link itself does not say
// which language the reminder was in; the browser's preference is the
// shopper's own.
func pageLanguage(r *http.Request) (string, linkPhrases) {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en", linkText["en"]
	}
	_, i, conf := linkMatcher.Match(tags...)
	if conf == language.No {
		return "en", linkText["en"]
	}
	lang := templates.Languages[i]
	p, ok := linkText[lang]
	if !ok {
		return "en", linkText["en"]
	}
	return lang, p
}
