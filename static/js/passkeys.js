// After a passkey is created on the enrolment page: a first second factor goes on to
// its backup codes, an added one back to where the user came from (django-otp-webauthn's
// script announces success with this event).
document.addEventListener("otp_webauthn.register_complete", function () {
  const form = document.getElementById("backup-codes-form");
  const link = document.getElementById("after-passkey");
  if (form) {
    form.submit();
  } else if (link) {
    window.location.assign(link.href);
  }
});
