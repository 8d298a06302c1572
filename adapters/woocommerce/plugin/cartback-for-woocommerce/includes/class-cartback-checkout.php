<?php
/**
 * Consent at checkout and the order meta cartback reads.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Shows the consent checkboxes and writes the cart key, consent and locale
 * on the order, on the classic and the block checkout.
 */
class Cartback_Checkout {

	const SMS_FIELD         = 'cartback_sms_consent';
	const EMAIL_FIELD       = 'cartback_email_consent';
	const BLOCK_SMS_FIELD   = 'cartback/sms-consent';
	const BLOCK_EMAIL_FIELD = 'cartback/email-consent';

	/**
	 * Knows the session's cart key.
	 *
	 * @var Cartback_Capture
	 */
	private $capture;

	/**
	 * Constructor.
	 *
	 * @param Cartback_Capture $capture Knows the session's cart key.
	 */
	public function __construct( Cartback_Capture $capture ) {
		$this->capture = $capture;
	}

	/**
	 * Hooks into WooCommerce.
	 *
	 * @return void
	 */
	public function register() {
		add_action( 'woocommerce_after_checkout_billing_form', array( $this, 'render_classic_fields' ) );
		add_action( 'woocommerce_checkout_create_order', array( $this, 'classic_order_meta' ) );
		add_action( 'woocommerce_checkout_order_processed', array( $this->capture, 'mark_ordered' ) );

		add_action( 'woocommerce_init', array( $this, 'register_block_fields' ) );
		add_action( 'woocommerce_store_api_checkout_update_order_meta', array( $this, 'draft_order_meta' ) );
		add_action( 'woocommerce_store_api_checkout_update_order_from_request', array( $this, 'block_order_meta' ), 10, 2 );
		add_action( 'woocommerce_store_api_checkout_order_processed', array( $this, 'block_order_processed' ) );
		add_filter( 'woocommerce_cancel_unpaid_order', array( $this, 'mark_unpaid_timeout' ), 10, 2 );
	}

	/**
	 * Marks an order WooCommerce cancels because its hold-stock time ran
	 * out unpaid: the shopper left at the payment step, the very cart a
	 * reminder is for, so cartback keeps it rather than treat the
	 * cancellation as the shopper's.
	 *
	 * @param bool     $cancel Whether WooCommerce cancels the order.
	 * @param WC_Order $order  The unpaid order.
	 * @return bool $cancel, unchanged.
	 */
	public function mark_unpaid_timeout( $cancel, $order ) {
		if ( $cancel && is_object( $order ) ) {
			$order->update_meta_data( '_cartback_unpaid_timeout', 'yes' );
		}
		return $cancel;
	}

	/**
	 * Classic checkout: the consent checkboxes and the email notice, under
	 * the billing fields. Changing a checkbox updates the order review, which
	 * posts it to the capture.
	 *
	 * @return void
	 */
	public function render_classic_fields() {
		$notice = Cartback_Settings::email_notice();
		if ( '' !== $notice ) {
			echo '<p class="form-row form-row-wide cartback-email-notice">' . wp_kses_post( $notice ) . '</p>';
		}
		$checkboxes = array(
			self::EMAIL_FIELD => Cartback_Settings::email_consent_label(),
			self::SMS_FIELD   => Cartback_Settings::sms_consent_label(),
		);
		foreach ( $checkboxes as $name => $label ) {
			if ( '' === $label ) {
				continue;
			}
			woocommerce_form_field(
				$name,
				array(
					'type'     => 'checkbox',
					'class'    => array( 'form-row-wide', 'update_totals_on_change' ),
					'label'    => esc_html( $label ),
					'required' => false,
				),
				0
			);
		}
	}

	/**
	 * Block checkout: the consent checkboxes as additional checkout fields
	 * (WooCommerce 8.9 and later), next to the email address.
	 *
	 * @return void
	 */
	public function register_block_fields() {
		if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
			return;
		}
		$fields = array(
			self::BLOCK_EMAIL_FIELD => Cartback_Settings::email_consent_label(),
			self::BLOCK_SMS_FIELD   => Cartback_Settings::sms_consent_label(),
		);
		foreach ( $fields as $id => $label ) {
			if ( '' === $label ) {
				continue;
			}
			woocommerce_register_additional_checkout_field(
				array(
					'id'       => $id,
					'label'    => $label,
					'location' => 'contact',
					'type'     => 'checkbox',
				)
			);
		}
	}

	/**
	 * Classic checkout: meta from the posted checkout form, which
	 * WooCommerce has verified the nonce of.
	 *
	 * @param WC_Order $order The order being created.
	 * @return void
	 */
	public function classic_order_meta( $order ) {
		// phpcs:disable WordPress.Security.NonceVerification.Missing -- WC_Checkout::process_checkout() checked it.
		$this->write_meta( $order, ! empty( $_POST[ self::EMAIL_FIELD ] ), ! empty( $_POST[ self::SMS_FIELD ] ) );
		// phpcs:enable
	}

	/**
	 * Block checkout: the draft order gets the cart key as soon as it
	 * exists.
	 *
	 * @param WC_Order $order The draft order.
	 * @return void
	 */
	public function draft_order_meta( $order ) {
		if ( $this->capture->has_session() && is_object( $order ) ) {
			$order->update_meta_data( '_cartback_cart_key', $this->capture->cart_key() );
		}
	}

	/**
	 * Block checkout: meta from the Store API checkout request, both the
	 * PUT the block sends when a field of the form changes and the POST
	 * that places the order. This is where the consent checkboxes reach the
	 * plugin before the order is placed: write_meta() records them in the
	 * session and marks the cart changed, so the next event carries them.
	 *
	 * A checkbox the request leaves out keeps the value WooCommerce has
	 * stored on the order.
	 *
	 * @param WC_Order        $order   The order.
	 * @param WP_REST_Request $request The checkout request.
	 * @return void
	 */
	public function block_order_meta( $order, $request ) {
		$fields  = is_object( $request ) ? $request->get_param( 'additional_fields' ) : null;
		$fields  = is_array( $fields ) ? $fields : array();
		$consent = array();
		foreach ( array( self::BLOCK_EMAIL_FIELD, self::BLOCK_SMS_FIELD ) as $key ) {
			if ( array_key_exists( $key, $fields ) ) {
				$consent[ $key ] = ! empty( $fields[ $key ] );
			} else {
				$consent[ $key ] = true === self::stored_field( $key, $order );
			}
		}
		$this->write_meta( $order, $consent[ self::BLOCK_EMAIL_FIELD ], $consent[ self::BLOCK_SMS_FIELD ] );
	}

	/**
	 * The value WooCommerce has stored for one of the plugin's additional
	 * checkout fields on a customer or an order (WooCommerce 8.9 and later).
	 *
	 * @param string $key       Field id, e.g. cartback/sms-consent.
	 * @param mixed  $wc_object WC_Customer or WC_Order.
	 * @return bool|string|null The value (a checkbox's is a bool), or null
	 *                          when WooCommerce cannot tell.
	 */
	public static function stored_field( $key, $wc_object ) {
		$service = 'Automattic\WooCommerce\Blocks\Domain\Services\CheckoutFields';
		$package = 'Automattic\WooCommerce\Blocks\Package';
		if ( ! is_object( $wc_object ) || ! is_a( $wc_object, 'WC_Data' ) || ! class_exists( $service ) || ! class_exists( $package ) || ! method_exists( $package, 'container' ) ) {
			return null;
		}
		try {
			$fields = call_user_func( array( $package, 'container' ) )->get( $service );
			if ( ! is_object( $fields ) || ! method_exists( $fields, 'get_field_from_object' ) ) {
				return null;
			}
			return $fields->get_field_from_object( $key, $wc_object, 'other' );
		} catch ( Throwable $e ) {
			// A WooCommerce whose checkout fields differ from 8.9's: no value.
			return null;
		}
	}

	/**
	 * Block checkout: the cart became an order.
	 *
	 * @param WC_Order $order The order.
	 * @return void
	 */
	public function block_order_processed( $order ) {
		if ( is_object( $order ) ) {
			$this->capture->mark_ordered( $order->get_id() );
		}
	}

	/**
	 * Writes the meta of docs/woocommerce-events.md on the order.
	 *
	 * @param WC_Order $order The order.
	 * @param bool     $email Marketing email consent (only counts when the checkbox is shown).
	 * @param bool     $sms   Marketing text consent (likewise).
	 * @return void
	 */
	public function write_meta( $order, $email, $sms ) {
		if ( ! is_object( $order ) ) {
			return;
		}
		$email = $email && '' !== Cartback_Settings::email_consent_label();
		$sms   = $sms && '' !== Cartback_Settings::sms_consent_label();
		if ( $this->capture->has_session() ) {
			$order->update_meta_data( '_cartback_cart_key', $this->capture->cart_key() );
			// The cart's next event, at the end of this request, carries the
			// consent, and so do the later ones should the payment fail.
			$this->capture->remember_consent( $email, $sms );
			$this->capture->mark_dirty();
		}
		$order->update_meta_data( '_cartback_email_consent', $email ? 'yes' : 'no' );
		$order->update_meta_data( '_cartback_sms_consent', $sms ? 'yes' : 'no' );
		$order->update_meta_data( '_cartback_locale', Cartback_Capture::locale() );
	}
}
