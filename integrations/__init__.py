"""Where the outside world plugs in: the embedded scheduler today; MQTT, Celery and PDF
rendering as their issues land."""
