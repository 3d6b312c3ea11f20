package soc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/connectord/connectord/sources/intercom"
	"golang.org/x/oauth2"
)

// OAuthPipeline is the reserved key space of stored tokens.
const OAuthPipeline = intercom.TokenPipeline

// Token is a stored Intercom access token (oauthtoken's format).
type Token = intercom.Token

// Intercom's OAuth endpoints.
const (
	DefaultAuthorizeURL = "https://app.intercom.com/oauth"
	DefaultTokenURL     = "https://api.intercom.io/auth/eagle/token"
)

// Exchange trades an authorisation code for an Intercom token at cfg's
// token URL. Intercom answers {"token", "access_token", "token_type"};
// either token field is accepted. Errors never contain the client secret.
func Exchange(ctx context.Context, cfg *oauth2.Config, client *http.Client, code string, now time.Time) (Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, intercomClient(client))
	t, err := cfg.Exchange(ctx, code)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			msg := fmt.Sprintf("the token server %s answered HTTP %d", cfg.Endpoint.TokenURL, re.Response.StatusCode)
			if re.ErrorCode != "" {
				msg += " (" + re.ErrorCode + ")"
			}
			return Token{}, errors.New(msg)
		}
		return Token{}, fmt.Errorf("exchanging the code at %s: %w", cfg.Endpoint.TokenURL, err)
	}
	return Token{AccessToken: t.AccessToken, TokenType: t.Type(), Obtained: now.UTC()}, nil
}

// OAuthConfig is the oauth2 configuration for Intercom: the client
// credentials go in the form body (AuthStyleInParams), as Intercom expects.
func OAuthConfig(clientID, clientSecret, redirectURL, authorizeURL, tokenURL string) *oauth2.Config {
	if authorizeURL == "" {
		authorizeURL = DefaultAuthorizeURL
	}
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Endpoint:     oauth2.Endpoint{AuthURL: authorizeURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}
