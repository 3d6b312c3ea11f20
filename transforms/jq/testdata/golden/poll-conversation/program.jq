include "intercom"; poll_event
