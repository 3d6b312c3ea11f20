package jq

import _ "embed" // the module ships inside the binary

// ModuleName is the name programs include the shipped module by.
const ModuleName = "intercom"

//go:embed intercom.jq
var intercomModule string

// Module returns the source of the shipped "intercom" jq module.
func Module() string { return intercomModule }
