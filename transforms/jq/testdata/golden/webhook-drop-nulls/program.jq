include "intercom"; webhook_event | drop_nulls
