package main

// The components compiled into connectord register themselves from init().
import (
	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sinks/stdout"
	_ "github.com/connectord/connectord/sources/generator"
	_ "github.com/connectord/connectord/sources/intercompoller"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/sources/webhook"
	_ "github.com/connectord/connectord/transforms/filter"
	_ "github.com/connectord/connectord/transforms/jq"
)
