// Package soc is connectord's SAP Open Connectors compatibility layer for
// the Intercom connector: it turns an Open Connectors `POST /instances` body
// into pipeline files (Convert, used by `connectord import` and by the API),
// serves the `/elements/api-v2/instances` API on the admin listener (NewAPI,
// Mount), exchanges OAuth authorisation codes for Intercom tokens (Exchange)
// and keeps those tokens in the store where pollers read them (TokenSource).
//
// Store layout (all in the store's per-pipeline key-value spaces):
//
//	_oauth       oauth/token/<name>     Token JSON: the master copy
//	<pipeline>   oauth/token/<name>     Token JSON: a copy in each polling
//	                                    pipeline that has token_ref: <name>
//	_instances   instance/<id>          Record JSON (redacted, token hash)
//	_instances   slug/<name>            the id owning a name (uniqueness)
//	_instances   next_id                the last id handed out
//
// Secrets from an API request (signature key, client secret) are never
// written to pipeline files: the files reference ${NAME_…} variables whose
// values are kept in DATA/soc/secrets.json (mode 0600) and resolved by the
// Env that WithSecrets wraps around the daemon's environment.
package soc
