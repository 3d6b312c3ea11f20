package intercompoller

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func init() {
	engine.Register("intercom_poller", func() engine.SourceConfig { return NewOptions() })
}

// Options are the intercom_poller's settings, in SAP Open Connectors'
// vocabulary (event.poller.configuration) where it has a word for them.
type Options struct {
	// API is the base URL: https://api.intercom.io (default),
	// https://api.eu.intercom.io, https://api.au.intercom.io or a test server.
	API string `yaml:"api"`
	// Token is an Intercom access token, sent as a Bearer token.
	Token config.Secret `yaml:"token"`
	// TokenRef names an OAuth token stored in the pipeline's state under
	// "oauth/token/NAME" as {"access_token": ...}; instead of Token.
	TokenRef string `yaml:"token_ref"`
	// IntercomVersion is sent as the Intercom-Version header (default 2.11).
	IntercomVersion string `yaml:"intercom_version"`
	// Resource is the events' objectType, e.g. conversations or contacts.
	Resource string `yaml:"resource"`
	// URL is the endpoint, relative to API (or absolute); see the package
	// doc for defaults and placeholders.
	URL string `yaml:"url"`
	// Mode is list, search or scroll; the default depends on Resource and
	// URL.
	Mode string `yaml:"mode"`
	// SearchGranularity is how the search API compares dates: second, or
	// day (contacts in API 2.11). Default: day for contacts, else second.
	SearchGranularity string `yaml:"search_granularity"`
	// IDField is the dotted path of the record id (default "id").
	IDField string `yaml:"idField"`
	// Dates says where and how records carry their dates.
	Dates DatesConfiguration `yaml:"datesConfiguration"`
	// RefreshInterval is the time between polls: minutes as a number or a
	// numeric string (SAP Open Connectors' "15"), or a Go duration ("30s").
	RefreshInterval Interval `yaml:"refresh_interval"`
	// PageSize is records per request (default 50, max 150).
	PageSize int `yaml:"pageSize"`
	// PollDelay re-reads this far behind the cursor (seconds or a
	// duration), for records that become visible late. Default: 0 in list
	// mode, 300s in search mode (Intercom's search index lags).
	PollDelay *config.Duration `yaml:"pollDelay"`
	// FilterByUpdatedDate (default true) tracks changes by updated date;
	// false tracks new records by created date.
	FilterByUpdatedDate bool `yaml:"filterByUpdatedDate"`
	// FilterByCurrentDate (default true) leaves records changed after the
	// poll started to the next poll.
	FilterByCurrentDate bool `yaml:"filterByCurrentDate"`
	// CreatedCheckTolerance: a record whose created and updated dates are
	// at most this far apart is CREATED, else UPDATED (seconds; default 0).
	CreatedCheckTolerance config.Duration `yaml:"createdCheckTolerance"`
	// Start is where a new pipeline begins: now (default), all, or an RFC
	// 3339 time. It applies only while no cursor is stored.
	Start string `yaml:"start"`
	// FilterNulls (filter.response.nulls, default true) drops null fields
	// from records.
	FilterNulls bool `yaml:"filter_nulls"`
}

// DatesConfiguration is SAP Open Connectors' datesConfiguration.
type DatesConfiguration struct {
	UpdatedDateField    string `yaml:"updatedDateField"`
	UpdatedDateFormat   string `yaml:"updatedDateFormat"`
	UpdatedDateTimezone string `yaml:"updatedDateTimezone"`
	CreatedDateField    string `yaml:"createdDateField"`
	CreatedDateFormat   string `yaml:"createdDateFormat"`
	CreatedDateTimezone string `yaml:"createdDateTimezone"`
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		API:             "https://api.intercom.io",
		IntercomVersion: "2.11",
		IDField:         "id",
		Dates: DatesConfiguration{
			UpdatedDateField: "updated_at", UpdatedDateFormat: "timestamp", UpdatedDateTimezone: "GMT",
			CreatedDateField: "created_at", CreatedDateFormat: "timestamp", CreatedDateTimezone: "GMT",
		},
		RefreshInterval:     Interval(15 * time.Minute),
		PageSize:            50,
		FilterByUpdatedDate: true,
		FilterByCurrentDate: true,
		Start:               "now",
		FilterNulls:         true,
	}
}

// Interval is refresh_interval: minutes as a number or numeric string, as
// SAP Open Connectors writes it, or a Go duration string.
type Interval time.Duration

// UnmarshalYAML accepts 15, "15", 0.5 or "30s".
func (i *Interval) UnmarshalYAML(n *yaml.Node) error {
	d, err := parseInterval(n.Value)
	if err != nil {
		return err
	}
	*i = Interval(d)
	return nil
}

func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Minute)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither minutes (15) nor a duration (30s, 5m)", s)
	}
	return d, nil
}

const searchPollDelay = 300 * time.Second

// settings are validated options, ready to run.
type settings struct {
	api         *url.URL
	token       config.Secret
	tokenRef    string
	version     string
	resource    string
	url         urlTemplate
	search      bool
	scroll      bool
	byDay       bool
	idPath      []string
	updated     dateField
	created     dateField // field "" when not configured
	interval    time.Duration
	pageSize    int
	pollDelay   time.Duration
	byUpdated   bool
	currentOnly bool
	tolerance   time.Duration
	start       startPoint
	filterNulls bool
}

type dateField struct {
	path   []string
	name   string
	format dateFormat
}

// startPoint is where a pipeline without a cursor begins.
type startPoint struct {
	now bool      // begin at the first poll
	at  time.Time // else begin here (zero: everything)
}
