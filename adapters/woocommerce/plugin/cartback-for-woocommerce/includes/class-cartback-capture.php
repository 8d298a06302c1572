<?php
/**
 * Cart capture: the cart.updated and cart.deleted events.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Watches the cart of identified shoppers and reports it to cartback, as
 * docs/woocommerce-events.md specifies.
 *
 * Hooks only mark the cart as changed; the event is built once, at the end
 * of the request, and only when it differs from the last one sent (or the
 * heartbeat is due). It goes out last of all, after the response has been
 * finished and the session saved, so that the shopper never waits for it.
 */
class Cartback_Capture {

	/**
	 * An unchanged cart is sent again at most once in this many seconds.
	 *
	 * The session records an event as sent before it goes out. Where the
	 * response is finished first (PHP-FPM, LiteSpeed), the event waits for
	 * cartback's answer and one that failed is sent once more a minute
	 * later (Cartback_Client::send_event()); elsewhere it goes out without
	 * waiting, and the plugin cannot know whether it arrived. Sending the
	 * unchanged cart again while the shopper keeps viewing the cart or
	 * checkout is a heartbeat that mends a lost event and keeps cartback's
	 * copy fresh; cartback takes an event it already has as a no-op. Ten
	 * minutes keeps that to a few requests per visit rather than one per
	 * page view.
	 */
	const HEARTBEAT = 600;

	/**
	 * User agents that are never shoppers. Each pattern is anchored to how
	 * crawlers name themselves ("Googlebot/2.1", "+http://…/bot.html", "bot"
	 * as a word, a crawler's or an HTTP library's own name), because a bare
	 * "bot" also matches phones such as the CUBOT P40, whose owners are
	 * shoppers. Link previews of messengers (TelegramBot, WhatsApp's, whose
	 * agent starts with "WhatsApp/") are not shoppers either; the in-app
	 * browsers of Facebook, Instagram or Pinterest are.
	 */
	const BOT_PATTERN = '~\bbot\b|bot/|\+https?://|crawler|crawl\b|spider|slurp|slackbot|googlebot|storebot-google|google-inspectiontool|googleother|telegrambot|^whatsapp/|facebookexternalhit|facebookcatalog|embedly|mediapartners-google|headlesschrome|chrome-lighthouse|pingdom|\bcurl/|\bwget/|python-requests|python-urllib|go-http-client|\bjava/|httpclient/|\bokhttp/|\baxios/|\bnode-fetch\b|scrapy~i';

	/**
	 * ISO 4217 currencies whose minor unit is not 1/100, as cartback reads
	 * them (recovery/money.go).
	 */
	const CURRENCY_DECIMALS = array(
		'BIF' => 0,
		'CLP' => 0,
		'DJF' => 0,
		'GNF' => 0,
		'ISK' => 0,
		'JPY' => 0,
		'KMF' => 0,
		'KRW' => 0,
		'PYG' => 0,
		'RWF' => 0,
		'UGX' => 0,
		'UYI' => 0,
		'VND' => 0,
		'VUV' => 0,
		'XAF' => 0,
		'XOF' => 0,
		'XPF' => 0,
		'BHD' => 3,
		'IQD' => 3,
		'JOD' => 3,
		'KWD' => 3,
		'LYD' => 3,
		'OMR' => 3,
		'TND' => 3,
		'CLF' => 4,
		'UYW' => 4,
	);

	/**
	 * Cookie the plugin's script sets, telling a browser from a script.
	 */
	const JS_COOKIE = 'cartback_js';

	// Session keys.
	const S_CART_KEY   = 'cartback_cart_key';
	const S_LAST_KEY   = 'cartback_last_cart_key';
	const S_CREATED_AT = 'cartback_created_at';
	const S_UPDATED_AT = 'cartback_updated_at';
	const S_HASH       = 'cartback_hash';
	const S_SENT_AT    = 'cartback_sent_at';
	const S_CONTACT    = 'cartback_contact';
	const S_CONSENT    = 'cartback_consent';
	const S_ORDERED    = 'cartback_ordered';
	const S_REVISION   = 'cartback_revision';

	/**
	 * Sends the events.
	 *
	 * @var Cartback_Client
	 */
	private $client;

	/**
	 * Returns the time in Unix seconds.
	 *
	 * @var callable
	 */
	private $clock;

	/**
	 * Whether a hook saw the cart or the shopper change in this request.
	 *
	 * @var bool
	 */
	private $dirty = false;

	/**
	 * Set while the plugin changes the cart itself (restoring it).
	 *
	 * @var bool
	 */
	private $suppressed = false;

	/**
	 * Set while flush_on_shutdown() runs: events are kept in the outbox
	 * rather than sent.
	 *
	 * @var bool
	 */
	private $deferred = false;

	/**
	 * Events waiting for deliver(), as [topic, body, revision].
	 *
	 * @var array<int,array{0:string,1:string,2:string}>
	 */
	private $outbox = array();

	/**
	 * Constructor.
	 *
	 * @param Cartback_Client $client Sends the events.
	 * @param callable|null   $clock  Returns Unix seconds; time() by default.
	 */
	public function __construct( Cartback_Client $client, $clock = null ) {
		$this->client = $client;
		$this->clock  = $clock ? $clock : 'time';
	}

	/**
	 * Hooks into WooCommerce.
	 *
	 * @return void
	 */
	public function register() {
		foreach ( array(
			'woocommerce_cart_updated',
			'woocommerce_add_to_cart',
			'woocommerce_cart_item_removed',
			'woocommerce_cart_item_restored',
			'woocommerce_after_cart_item_quantity_update',
			'woocommerce_applied_coupon',
			'woocommerce_removed_coupon',
			'woocommerce_cart_emptied',
		) as $hook ) {
			add_action( $hook, array( $this, 'mark_dirty' ) );
		}
		// Classic checkout: the fields posted with each order review update.
		add_action( 'woocommerce_checkout_update_order_review', array( $this, 'capture_posted_data' ) );
		// Block checkout: the Store API's update-customer request.
		add_action( 'woocommerce_store_api_cart_update_customer_from_request', array( $this, 'capture_store_api_customer' ), 10, 2 );
		// Before WooCommerce saves the session, at priority 20, so that what
		// is sent is recorded in the session it saves.
		add_action( 'shutdown', array( $this, 'flush_on_shutdown' ), 5 );
		// Last: once the session is saved, the response can be finished and
		// the events sent without the shopper waiting.
		add_action( 'shutdown', array( $this, 'deliver' ), PHP_INT_MAX );
	}

	/**
	 * Notes that the cart or the shopper may have changed.
	 *
	 * @return void
	 */
	public function mark_dirty() {
		$this->dirty = true;
	}

	/**
	 * Runs callback without reporting the cart changes it makes.
	 *
	 * @param callable $callback Changes the cart.
	 * @return mixed What callback returns.
	 */
	public function suppressed( $callback ) {
		$this->suppressed = true;
		try {
			return call_user_func( $callback );
		} finally {
			$this->suppressed = false;
			$this->dirty      = false;
		}
	}

	/**
	 * Reads the contact details and consent from the classic checkout's
	 * order review update.
	 *
	 * @param string $posted_data The checkout form, URL-encoded, as
	 *                            WC_AJAX::update_order_review() passes it
	 *                            (already unslashed).
	 * @return void
	 */
	public function capture_posted_data( $posted_data ) {
		$data = array();
		parse_str( (string) $posted_data, $data );
		$this->remember_contact(
			array(
				'email'      => isset( $data['billing_email'] ) ? $data['billing_email'] : '',
				'phone'      => isset( $data['billing_phone'] ) ? $data['billing_phone'] : '',
				'first_name' => isset( $data['billing_first_name'] ) ? $data['billing_first_name'] : '',
				'last_name'  => isset( $data['billing_last_name'] ) ? $data['billing_last_name'] : '',
				'country'    => isset( $data['billing_country'] ) ? $data['billing_country'] : '',
			)
		);
		$this->remember_consent( ! empty( $data[ Cartback_Checkout::EMAIL_FIELD ] ), ! empty( $data[ Cartback_Checkout::SMS_FIELD ] ) );
		$this->mark_dirty();
	}

	/**
	 * Reads the contact details and consent from the block checkout's
	 * update-customer request.
	 *
	 * That request carries the addresses only. The consent checkboxes are
	 * additional checkout fields, which WooCommerce keeps on the customer
	 * (the account of a signed-in customer, the session of a guest) and
	 * sends with the checkout requests, where Cartback_Checkout reads them;
	 * here they are read from the customer. A box found ticked there is
	 * recorded; one found unticked leaves what the session has, since a
	 * field WooCommerce has not stored yet reads as unticked too.
	 *
	 * @param WC_Customer     $customer The customer, already updated from the request.
	 * @param WP_REST_Request $request  The Store API request.
	 * @return void
	 */
	public function capture_store_api_customer( $customer, $request ) {
		if ( is_object( $customer ) ) {
			$this->remember_contact(
				array(
					'email'      => $customer->get_billing_email(),
					'phone'      => $customer->get_billing_phone(),
					'first_name' => $customer->get_billing_first_name(),
					'last_name'  => $customer->get_billing_last_name(),
					'country'    => $customer->get_billing_country(),
				)
			);
		}
		$fields = is_object( $request ) ? $request->get_param( 'additional_fields' ) : null;
		if ( is_array( $fields ) ) {
			$this->remember_consent( ! empty( $fields[ Cartback_Checkout::BLOCK_EMAIL_FIELD ] ), ! empty( $fields[ Cartback_Checkout::BLOCK_SMS_FIELD ] ) );
		} else {
			$stored = array(
				'email' => Cartback_Checkout::stored_field( Cartback_Checkout::BLOCK_EMAIL_FIELD, $customer ),
				'sms'   => Cartback_Checkout::stored_field( Cartback_Checkout::BLOCK_SMS_FIELD, $customer ),
			);
			if ( true === $stored['email'] || true === $stored['sms'] ) {
				$current = is_object( WC()->session ) ? WC()->session->get( self::S_CONSENT ) : null;
				$current = is_array( $current ) ? $current : array();
				$this->remember_consent(
					true === $stored['email'] || ! empty( $current['email'] ),
					true === $stored['sms'] || ! empty( $current['sms'] )
				);
			}
		}
		$this->mark_dirty();
	}

	/**
	 * Builds this request's events on shutdown and keeps them for deliver().
	 *
	 * @return void
	 */
	public function flush_on_shutdown() {
		$this->deferred = true;
		try {
			$this->flush();
		} finally {
			$this->deferred = false;
		}
	}

	/**
	 * Sends the events flush_on_shutdown() kept, after finishing the
	 * shopper's response where the server allows it: then they wait for
	 * cartback's answer, and one that failed is retried (see
	 * Cartback_Client::send_event()). Runs last on shutdown, after
	 * WooCommerce has saved the session: once the response is finished the
	 * browser may send its next request at once, which must find the
	 * session saved.
	 *
	 * @return void
	 */
	public function deliver() {
		if ( ! $this->outbox ) {
			return;
		}
		$events       = $this->outbox;
		$this->outbox = array();
		$this->client->finish_response();
		foreach ( $events as $event ) {
			$this->client->send_event( $event[0], $event[1], $event[2] );
		}
	}

	/**
	 * Sends what changed in this request.
	 *
	 * @return void
	 */
	public function flush() {
		if ( ! $this->dirty || $this->suppressed ) {
			return;
		}
		$this->dirty = false;
		if ( ! Cartback_Settings::is_configured() || ! $this->has_session() || $this->is_bot() ) {
			return;
		}
		if ( WC()->cart->is_empty() ) {
			$this->cart_emptied();
			return;
		}
		if ( $this->is_identified() ) {
			$this->send_update();
		}
	}

	/**
	 * Sends cart.updated when the cart changed, or when the same cart went
	 * out HEARTBEAT seconds ago or longer.
	 *
	 * @return bool Whether an event was sent.
	 */
	public function send_update() {
		$session = WC()->session;
		$now     = (int) call_user_func( $this->clock );
		$payload = $this->build_payload();
		$hash    = md5( self::encode( $payload ) );

		$revision = (string) $session->get( self::S_REVISION );
		if ( $session->get( self::S_HASH ) === $hash ) {
			if ( $now - (int) $session->get( self::S_SENT_AT ) < self::HEARTBEAT ) {
				return false;
			}
			$updated_at = (int) $session->get( self::S_UPDATED_AT );
		} else {
			// The shopper changed something: that is the cart's new time.
			$updated_at = $now;
			// A new revision, so that a cart changed back within the same
			// second (A, B, A) is not taken for a resend of the first A.
			$revision = '';
		}
		if ( '' === $revision ) {
			$revision = bin2hex( random_bytes( 8 ) );
		}
		if ( ! $session->get( self::S_CREATED_AT ) ) {
			$session->set( self::S_CREATED_AT, $now );
		}
		$payload['created_at'] = self::format_time( (int) $session->get( self::S_CREATED_AT ) );
		$payload['updated_at'] = self::format_time( $updated_at ? $updated_at : $now );

		$this->send( 'cart.updated', self::encode( $payload ), $revision );
		$session->set( self::S_HASH, $hash );
		$session->set( self::S_REVISION, $revision );
		$session->set( self::S_UPDATED_AT, $updated_at ? $updated_at : $now );
		$session->set( self::S_SENT_AT, $now );
		return true;
	}

	/**
	 * The cart is empty: tells cartback, unless it became empty because it
	 * was bought or was never sent, and starts a new cart key.
	 *
	 * @return bool Whether cart.deleted was sent.
	 */
	public function cart_emptied() {
		$session = WC()->session;
		$key     = $session->get( self::S_CART_KEY );
		$sent    = false;
		if ( $key && $session->get( self::S_HASH ) && ! $session->get( self::S_ORDERED ) ) {
			$payload = array(
				'cart_key'   => (string) $key,
				'updated_at' => self::format_time( (int) call_user_func( $this->clock ) ),
			);
			$this->send( 'cart.deleted', self::encode( $payload ) );
			$sent = true;
		}
		if ( $key ) {
			$session->set( self::S_LAST_KEY, $key );
		}
		foreach ( array( self::S_CART_KEY, self::S_CREATED_AT, self::S_UPDATED_AT, self::S_HASH, self::S_SENT_AT, self::S_ORDERED, self::S_REVISION ) as $name ) {
			$session->set( $name, null );
		}
		return $sent;
	}

	/**
	 * Sends an event now, or keeps it for deliver() when flushing on
	 * shutdown.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $revision See Cartback_Client::send_event().
	 * @return void
	 */
	private function send( $topic, $body, $revision = '' ) {
		if ( $this->deferred ) {
			$this->outbox[] = array( $topic, $body, $revision );
			return;
		}
		$this->client->send_event( $topic, $body, $revision );
	}

	/**
	 * The cart.updated payload of the session's cart, without created_at and
	 * updated_at filled in (they are set when it is sent).
	 *
	 * @return array
	 */
	public function build_payload() {
		$cart     = WC()->cart;
		$contact  = $this->contact();
		$consent  = $this->consent();
		$incl     = (bool) $cart->display_prices_including_tax();
		$currency = (string) get_woocommerce_currency();
		$decimals = self::currency_decimals( $currency );

		$items = array();
		foreach ( $cart->get_cart() as $cart_item_key => $item ) {
			$product = isset( $item['data'] ) ? $item['data'] : null;
			if ( ! is_object( $product ) ) {
				continue;
			}
			$quantity = (int) $item['quantity'];
			$line     = (float) $item['line_subtotal'] + ( $incl ? (float) $item['line_subtotal_tax'] : 0.0 );
			$image_id = $product->get_image_id();
			$image    = $image_id ? wp_get_attachment_image_url( $image_id, 'woocommerce_thumbnail' ) : '';

			$variation = isset( $item['variation'] ) ? $item['variation'] : array();

			$items[] = array(
				'product_id'    => (int) $item['product_id'],
				'variation_id'  => isset( $item['variation_id'] ) ? (int) $item['variation_id'] : 0,
				'name'          => (string) $product->get_name(),
				'sku'           => (string) $product->get_sku(),
				'quantity'      => $quantity,
				'price'         => self::money( $quantity > 0 ? $line / $quantity : 0.0, $decimals ),
				'line_total'    => self::money( $line, $decimals ),
				'image_url'     => $image ? (string) $image : '',
				'product_url'   => (string) $product->get_permalink( $item ),
				'attributes'    => self::attributes( $variation ),
				'variant_title' => self::variant_title( $product, $variation ),
			);
		}

		$payload = array(
			'cart_key'   => $this->cart_key(),
			'created_at' => null,
			'updated_at' => null,
			'currency'   => $currency,
			'locale'     => self::locale(),
			'customer'   => $contact,
			'consent'    => array(
				'email_marketing' => $consent['email'],
				'sms_marketing'   => $consent['sms'],
			),
			'items'      => $items,
			'totals'     => array(
				'subtotal' => self::money( (float) $cart->get_subtotal() + ( $incl ? (float) $cart->get_subtotal_tax() : 0.0 ), $decimals ),
				'discount' => self::money( (float) $cart->get_discount_total() + ( $incl ? (float) $cart->get_discount_tax() : 0.0 ), $decimals ),
				'shipping' => self::money( (float) $cart->get_shipping_total() + ( $incl ? (float) $cart->get_shipping_tax() : 0.0 ), $decimals ),
				'tax'      => self::money( (float) $cart->get_total_tax(), $decimals ),
				'total'    => self::money( (float) $cart->get_total( 'edit' ), $decimals ),
			),
			// The restore route lives on the home page: cartback links to it
			// with ?cartback_restore={token}.
			'restore_url' => Cartback_Settings::store_url(),
		);
		/**
		 * Filters the cart.updated payload.
		 *
		 * @param array $payload The event, without its times.
		 */
		return apply_filters( 'cartback_cart_payload', $payload );
	}

	/**
	 * The key of the session's cart, created on first use.
	 *
	 * A guest's first cart uses the session's customer id (t_…); later
	 * carts of the same session, and carts of logged-in customers, whose
	 * customer id is their user id, get a random key so that a new cart is
	 * never mistaken for one already bought.
	 *
	 * @return string
	 */
	public function cart_key() {
		$session = WC()->session;
		$key     = (string) $session->get( self::S_CART_KEY );
		if ( '' !== $key ) {
			return $key;
		}
		$customer_id = (string) $session->get_customer_id();
		if ( 0 === strpos( $customer_id, 't_' ) && $customer_id !== $session->get( self::S_LAST_KEY ) ) {
			$key = $customer_id;
		} else {
			$key = 't_' . bin2hex( random_bytes( 16 ) );
		}
		$session->set( self::S_CART_KEY, $key );
		return $key;
	}

	/**
	 * Uses key for the session's cart from now on (a restored cart keeps
	 * the key it had).
	 *
	 * @param string $key Cart key.
	 * @return void
	 */
	public function adopt_cart_key( $key ) {
		$session = WC()->session;
		if ( $session->get( self::S_CART_KEY ) !== $key ) {
			foreach ( array( self::S_CREATED_AT, self::S_UPDATED_AT, self::S_HASH, self::S_SENT_AT, self::S_ORDERED, self::S_REVISION ) as $name ) {
				$session->set( $name, null );
			}
		}
		$session->set( self::S_CART_KEY, $key );
	}

	/**
	 * Notes that the session's cart became an order, so that emptying it
	 * afterwards is not reported as a deleted cart.
	 *
	 * @param int $order_id Order id.
	 * @return void
	 */
	public function mark_ordered( $order_id ) {
		if ( $this->has_session() ) {
			WC()->session->set( self::S_ORDERED, (int) $order_id );
		}
	}

	/**
	 * The shopper's contact details: the customer's, overridden by what
	 * was typed at checkout.
	 *
	 * @return array{email:string,phone:string,first_name:string,last_name:string,country:string}
	 */
	public function contact() {
		$contact  = array(
			'email'      => '',
			'phone'      => '',
			'first_name' => '',
			'last_name'  => '',
			'country'    => '',
		);
		$customer = WC()->customer;
		if ( is_object( $customer ) ) {
			$contact['email']      = (string) $customer->get_billing_email();
			$contact['phone']      = (string) $customer->get_billing_phone();
			$contact['first_name'] = (string) $customer->get_billing_first_name();
			$contact['last_name']  = (string) $customer->get_billing_last_name();
			$contact['country']    = (string) $customer->get_billing_country();
			if ( '' === $contact['email'] && is_user_logged_in() ) {
				$contact['email'] = (string) $customer->get_email();
			}
			if ( '' === $contact['first_name'] && is_user_logged_in() ) {
				$contact['first_name'] = (string) $customer->get_first_name();
				$contact['last_name']  = (string) $customer->get_last_name();
			}
		}
		$typed = WC()->session->get( self::S_CONTACT );
		if ( is_array( $typed ) ) {
			foreach ( $contact as $field => $value ) {
				if ( isset( $typed[ $field ] ) && '' !== $typed[ $field ] ) {
					$contact[ $field ] = (string) $typed[ $field ];
				}
			}
		}
		return $contact;
	}

	/**
	 * What the shopper agreed to.
	 *
	 * @return array{email:bool,sms:bool}
	 */
	public function consent() {
		$consent = WC()->session->get( self::S_CONSENT );
		return array(
			'email' => is_array( $consent ) && ! empty( $consent['email'] ) && '' !== Cartback_Settings::email_consent_label(),
			'sms'   => is_array( $consent ) && ! empty( $consent['sms'] ) && '' !== Cartback_Settings::sms_consent_label(),
		);
	}

	/**
	 * Whether cartback can reach the shopper: logged in, or a valid email
	 * or phone number entered.
	 *
	 * @return bool
	 */
	public function is_identified() {
		if ( is_user_logged_in() ) {
			return true;
		}
		$contact = $this->contact();
		return is_email( $contact['email'] ) || self::is_phone( $contact['phone'] );
	}

	/**
	 * Whether the request comes from a crawler or a script rather than a
	 * shopper's browser.
	 *
	 * @return bool
	 */
	public function is_bot() {
		$agent = isset( $_SERVER['HTTP_USER_AGENT'] ) ? sanitize_text_field( wp_unslash( $_SERVER['HTTP_USER_AGENT'] ) ) : '';
		$bot   = self::is_crawler( $agent );
		if ( ! $bot ) {
			// A browser runs the plugin's script or makes the AJAX and Store
			// API requests of the cart and checkout pages.
			$js  = ! empty( $_COOKIE[ self::JS_COOKIE ] ) || wp_doing_ajax() || isset( $_GET['wc-ajax'] ) // phpcs:ignore WordPress.Security.NonceVerification.Recommended
				|| ( defined( 'REST_REQUEST' ) && REST_REQUEST );
			$bot = ! $js;
		}
		/**
		 * Filters whether the request is a bot's, whose carts are not sent.
		 *
		 * @param bool   $bot   Whether it is.
		 * @param string $agent The user agent.
		 */
		return (bool) apply_filters( 'cartback_is_bot', $bot, $agent );
	}

	/**
	 * Whether a user agent is empty or a crawler's.
	 *
	 * @param string $agent User agent.
	 * @return bool
	 */
	public static function is_crawler( $agent ) {
		return '' === trim( (string) $agent ) || 1 === preg_match( self::BOT_PATTERN, (string) $agent );
	}

	/**
	 * Whether WooCommerce has a session for this visitor.
	 *
	 * @return bool
	 */
	public function has_session() {
		$wc = function_exists( 'WC' ) ? WC() : null;
		return $wc && isset( $wc->session, $wc->cart ) && is_object( $wc->session ) && is_object( $wc->cart )
			&& $wc->session->has_session();
	}

	/**
	 * Stores the non-empty contact fields typed at checkout.
	 *
	 * The values are not unslashed again: WooCommerce passes the order
	 * review's post_data already unslashed, and customer objects hold the
	 * values as typed, so a backslash the shopper typed is theirs.
	 *
	 * @param array<string,string> $fields Contact fields.
	 * @return void
	 */
	private function remember_contact( array $fields ) {
		$session = WC()->session;
		if ( ! is_object( $session ) ) {
			return;
		}
		$contact = $session->get( self::S_CONTACT );
		$contact = is_array( $contact ) ? $contact : array();
		foreach ( $fields as $field => $value ) {
			$value = sanitize_text_field( (string) $value );
			if ( 'email' === $field && ! is_email( $value ) ) {
				continue;
			}
			if ( '' !== $value ) {
				$contact[ $field ] = $value;
			}
		}
		$session->set( self::S_CONTACT, $contact );
	}

	/**
	 * Stores the consent checkboxes' state.
	 *
	 * @param bool $email Marketing email.
	 * @param bool $sms   Marketing texts.
	 * @return void
	 */
	public function remember_consent( $email, $sms ) {
		if ( is_object( WC()->session ) ) {
			WC()->session->set(
				self::S_CONSENT,
				array(
					'email' => (bool) $email,
					'sms'   => (bool) $sms,
				)
			);
		}
	}

	/**
	 * A phone number with enough digits to be one.
	 *
	 * @param string $phone As typed.
	 * @return bool
	 */
	public static function is_phone( $phone ) {
		return strlen( (string) preg_replace( '/\D/', '', (string) $phone ) ) >= 6;
	}

	/**
	 * Attributes of a cart item, keyed as WooCommerce stores them in its
	 * variation array (attribute_pa_color => black), which cartback passes
	 * back unchanged on restore.
	 *
	 * @param mixed $variation The cart item's variation array.
	 * @return array<string,string>|stdClass An object when empty, so that it encodes as {}.
	 */
	public static function attributes( $variation ) {
		$attributes = array();
		if ( is_array( $variation ) ) {
			foreach ( $variation as $name => $value ) {
				if ( is_scalar( $value ) && '' !== (string) $value ) {
					$attributes[ (string) $name ] = (string) $value;
				}
			}
		}
		return $attributes ? $attributes : new stdClass();
	}

	/**
	 * The variation's options as the cart page lists them under the
	 * product's name ("Color: Dark Blue, Size: M"), for reminders to show:
	 * WooCommerce's attribute labels and term names rather than the keys
	 * and slugs of attributes(), leaving out the values the variation's
	 * name already shows, as WooCommerce does ("Ship Your Idea – Black, M"
	 * needs nothing more).
	 *
	 * @param WC_Product $product   The cart item's product (a variation).
	 * @param mixed      $variation The cart item's variation array.
	 * @return string Empty for a simple product or a name that says it all.
	 */
	public static function variant_title( $product, $variation ) {
		if ( ! is_array( $variation ) || ! is_object( $product ) ) {
			return '';
		}
		$name  = (string) $product->get_name();
		$parts = array();
		foreach ( $variation as $key => $value ) {
			if ( ! is_scalar( $value ) || '' === (string) $value ) {
				continue;
			}
			$key      = urldecode( (string) $key );
			$value    = (string) $value;
			$taxonomy = wc_attribute_taxonomy_name( str_replace( 'attribute_pa_', '', $key ) );
			if ( taxonomy_exists( $taxonomy ) ) {
				// A global attribute: the value is one of its terms' slug.
				$term = get_term_by( 'slug', $value, $taxonomy );
				if ( $term && ! is_wp_error( $term ) && '' !== (string) $term->name ) {
					$value = (string) $term->name;
				}
				$label = wc_attribute_label( $taxonomy );
			} else {
				// The product's own attribute: the value is the option as written.
				$value = (string) apply_filters( 'woocommerce_variation_option_name', $value, null, $taxonomy, $product );
				$label = wc_attribute_label( str_replace( 'attribute_', '', $key ), $product );
			}
			if ( '' === $value || wc_is_attribute_in_product_name( $value, $name ) ) {
				continue;
			}
			$parts[] = $label . ': ' . $value;
		}
		return implode( ', ', $parts );
	}

	/**
	 * How many decimals amounts in currency get.
	 *
	 * In the shop's own currency, the shop's price decimals: they are what
	 * its prices were rounded to. A multi-currency plugin that switches
	 * get_woocommerce_currency() may leave that setting as it is for the
	 * store currency (two decimals of yen), so another currency gets its
	 * own ISO 4217 minor unit, which is also what cartback parses.
	 *
	 * @param string $currency ISO 4217 code of the cart.
	 * @return int
	 */
	public static function currency_decimals( $currency ) {
		$currency = strtoupper( (string) $currency );
		if ( '' === $currency || strtoupper( (string) get_option( 'woocommerce_currency' ) ) === $currency ) {
			return max( 0, (int) wc_get_price_decimals() );
		}
		return isset( self::CURRENCY_DECIMALS[ $currency ] ) ? self::CURRENCY_DECIMALS[ $currency ] : 2;
	}

	/**
	 * A money amount as a decimal string.
	 *
	 * @param float    $amount   Amount.
	 * @param int|null $decimals Decimals; by default those of the cart's currency.
	 * @return string
	 */
	public static function money( $amount, $decimals = null ) {
		if ( null === $decimals ) {
			$decimals = self::currency_decimals( (string) get_woocommerce_currency() );
		}
		return number_format( (float) $amount, max( 0, (int) $decimals ), '.', '' );
	}

	/**
	 * RFC 3339 time in the site's time zone.
	 *
	 * @param int $timestamp Unix seconds.
	 * @return string
	 */
	public static function format_time( $timestamp ) {
		return (string) wp_date( 'Y-m-d\TH:i:sP', $timestamp );
	}

	/**
	 * The shopper's locale, e.g. nb_NO.
	 *
	 * @return string
	 */
	public static function locale() {
		return function_exists( 'determine_locale' ) ? (string) determine_locale() : (string) get_locale();
	}

	/**
	 * JSON as the plugin sends it.
	 *
	 * @param array $payload Event.
	 * @return string
	 */
	public static function encode( $payload ) {
		return (string) wp_json_encode( $payload, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
	}
}
