-- 见证方 (witnesses) of the publication ledger: independent C2SP tlog-witness servers (the county
-- discipline commission, townships) that cosign a checkpoint only with a consistency proof from
-- the last one they cosigned. A cosignature names the witness by its verifier key; it is kept for
-- every size a witness cosigned, so `ledger verify` can prove each witnessed root from today's
-- tree. Timestamps are UTC unix seconds.

CREATE TABLE ledger_cosignatures (
    -- The witness's verifier key (<name>+<id>+<key>).
    witness TEXT NOT NULL,
    size BIGINT NOT NULL,
    root BLOB NOT NULL,
    -- The note signature line, without its newline.
    signature TEXT NOT NULL,
    -- The cosignature's own timestamp, as the witness signed it.
    signed_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (witness, size)
);

-- What each witness last said it holds: the size of its latest cosigned checkpoint for this log,
-- which the next submission proves consistency from.
CREATE TABLE ledger_witness_heads (
    witness TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
