package main

var fieldDocs = map[string]string{}
