"""Device drivers: one sub-package per device family, knowing nothing of MQTT, HTTP or cases."""
