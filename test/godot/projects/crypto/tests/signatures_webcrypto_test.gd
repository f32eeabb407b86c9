extends SignatureCases
## PkarrSignatures on the browser's WebCrypto (Chromium has Ed25519).
