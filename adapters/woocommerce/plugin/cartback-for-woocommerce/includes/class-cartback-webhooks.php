<?php
/**
 * WooCommerce's order webhooks to cartback.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Creates the order.created and order.updated webhooks through WooCommerce's
 * own WC_Webhook objects.
 */
class Cartback_Webhooks {

	const TOPICS = array( 'order.created', 'order.updated' );

	/**
	 * Makes sure an active webhook of each topic delivers to url with
	 * secret; webhooks that already deliver there are updated, not
	 * duplicated.
	 *
	 * The webhooks an earlier Connect made for another URL (the cartback URL
	 * was changed since) are deleted: they would go on sending every order
	 * to the old address, and once their ids are replaced in the
	 * cartback_connected option, neither deactivating nor deleting the
	 * plugin would reach them.
	 *
	 * @param string $url    Delivery URL.
	 * @param string $secret The shop's webhook secret.
	 * @return array<string,int> Webhook id by topic.
	 */
	public function ensure( $url, $secret ) {
		$previous = self::connected_ids();

		$existing = array();
		foreach ( $this->webhook_ids() as $id ) {
			$webhook = wc_get_webhook( $id );
			if ( $webhook && $webhook->get_delivery_url() === $url && in_array( $webhook->get_topic(), self::TOPICS, true ) && ! isset( $existing[ $webhook->get_topic() ] ) ) {
				$existing[ $webhook->get_topic() ] = $webhook;
			}
		}

		$ids = array();
		foreach ( self::TOPICS as $topic ) {
			if ( isset( $existing[ $topic ] ) ) {
				$webhook = $existing[ $topic ];
			} else {
				$webhook = new WC_Webhook();
				/* translators: %s: webhook topic, e.g. order.created */
				$webhook->set_name( sprintf( __( 'cartback: %s', 'cartback-for-woocommerce' ), $topic ) );
				$webhook->set_user_id( get_current_user_id() );
				$webhook->set_topic( $topic );
				$webhook->set_delivery_url( $url );
				$webhook->set_api_version( 'wp_api_v3' );
			}
			$webhook->set_secret( $secret );
			$webhook->set_status( 'active' );
			$webhook->save();
			$ids[ $topic ] = (int) $webhook->get_id();
		}

		foreach ( array_diff( $previous, array_values( $ids ) ) as $id ) {
			$webhook = wc_get_webhook( $id );
			if ( $webhook && in_array( $webhook->get_topic(), self::TOPICS, true ) && $webhook->get_delivery_url() !== $url ) {
				$webhook->delete( true );
			}
		}
		return $ids;
	}

	/**
	 * The status of each webhook Connect made, for the settings page:
	 * WooCommerce disables a webhook whose deliveries keep failing, and the
	 * merchant may pause or delete one under WooCommerce → Settings →
	 * Advanced → Webhooks.
	 *
	 * @return array<string,string> Status (active, paused, disabled, or ''
	 *                              when the webhook is gone) by topic.
	 */
	public static function connected_statuses() {
		$statuses = array();
		foreach ( self::connected_ids() as $topic => $id ) {
			$webhook            = wc_get_webhook( $id );
			$statuses[ $topic ] = $webhook ? (string) $webhook->get_status() : '';
		}
		return $statuses;
	}

	/**
	 * Sets the status of the webhooks Connect made (their ids are kept in
	 * the cartback_connected option): paused while the plugin is
	 * deactivated, so WooCommerce stops sending orders to cartback, and
	 * active again when it is activated.
	 *
	 * @param string $status active or paused.
	 * @return void
	 */
	public static function set_connected_status( $status ) {
		foreach ( self::connected_ids() as $id ) {
			$webhook = wc_get_webhook( $id );
			if ( $webhook && in_array( $webhook->get_topic(), self::TOPICS, true ) ) {
				$webhook->set_status( $status );
				$webhook->save();
			}
		}
	}

	/**
	 * Deletes the webhooks Connect made, when the plugin is deleted.
	 *
	 * @return void
	 */
	public static function delete_connected() {
		foreach ( self::connected_ids() as $id ) {
			$webhook = wc_get_webhook( $id );
			if ( $webhook && in_array( $webhook->get_topic(), self::TOPICS, true ) ) {
				$webhook->delete( true );
			}
		}
	}

	/**
	 * Ids of the webhooks the last Connect made or updated.
	 *
	 * @return array<string,int> Id by topic.
	 */
	private static function connected_ids() {
		if ( ! function_exists( 'wc_get_webhook' ) ) {
			return array(); // WooCommerce is not active.
		}
		$connected = get_option( Cartback_Settings::CONNECTED );
		if ( ! is_array( $connected ) || empty( $connected['webhooks'] ) || ! is_array( $connected['webhooks'] ) ) {
			return array();
		}
		return array_map( 'intval', $connected['webhooks'] );
	}

	/**
	 * Ids of all webhooks.
	 *
	 * @return int[]
	 */
	private function webhook_ids() {
		$store = WC_Data_Store::load( 'webhook' );
		return array_map( 'intval', (array) $store->search_webhooks( array( 'limit' => -1 ) ) );
	}
}
