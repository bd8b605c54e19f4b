/* Login: keep the token in a cookie (the server compares it; no server-side session) and go to /. */
(function () {
  "use strict";
  document.getElementById("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = document.getElementById("token").value.trim();
    // sent as typed: the server compares the cookie's value byte for byte (no URL decoding)
    if (!token || /[\s;,]/.test(token)) return;
    document.cookie = `luxlog_token=${token}; SameSite=Strict; path=/`;
    window.location.assign("/");
  });
})();
