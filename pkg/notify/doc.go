// Package notify tells someone how an unattended run went: after each sync
// whose outcome is listed in the config's notify.on (failure, blocked,
// findings, always), it POSTs a JSON summary of the run (Payload) to the
// notify.webhook URL, with a timeout per attempt and retries with backoff on
// network errors, 408, 429 and 5xx answers.
//
// A notification never changes the run: whatever happens to it is logged
// (a warning when it fails) and recorded as an audit event of the run,
// notification_sent or notification_failed, whose payload names the webhook
// in redacted form (config.RedactURL), the attempts and the HTTP status. The
// webhook's ${NAME} references are expanded only when sending, and the
// expanded URL appears in no log line, error or audit event.
package notify
