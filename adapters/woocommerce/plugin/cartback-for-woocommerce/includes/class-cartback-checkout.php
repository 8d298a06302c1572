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
	 * Block checkout: meta from the Store API checkout request.
	 *
	 * @param WC_Order        $order   The order.
	 * @param WP_REST_Request $request The checkout request.
	 * @return void
	 */
	public function block_order_meta( $order, $request ) {
		$fields = is_object( $request ) ? $request->get_param( 'additional_fields' ) : null;
		$fields = is_array( $fields ) ? $fields : array();
		$this->write_meta( $order, ! empty( $fields[ self::BLOCK_EMAIL_FIELD ] ), ! empty( $fields[ self::BLOCK_SMS_FIELD ] ) );
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
			// Should the payment fail, the cart's next events carry the same consent.
			$this->capture->remember_consent( $email, $sms );
		}
		$order->update_meta_data( '_cartback_email_consent', $email ? 'yes' : 'no' );
		$order->update_meta_data( '_cartback_sms_consent', $sms ? 'yes' : 'no' );
		$order->update_meta_data( '_cartback_locale', Cartback_Capture::locale() );
	}
}
