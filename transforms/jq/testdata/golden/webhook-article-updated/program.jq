include "intercom"; webhook_event
