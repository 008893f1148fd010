-- Revenue follow-through (issue 9): contracted fee schedules per payer, CPT/HCPCS code and modifier, with effective
-- dates. Imported by `denials fees import FILE --payer P`; read once per batch for the codes the batch's paid lines
-- carry. Resolution (service/domain/fee_schedule.py): a row for one of the line's modifiers wins over the base row
-- (modifier ''), and the latest effective_from that covers the date of service wins among equals.

CREATE TABLE fee_schedules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payer_id        text NOT NULL,
    code            text NOT NULL,
    modifier        text NOT NULL DEFAULT '',        -- '' = the code's base rate
    effective_from  date NOT NULL,
    effective_to    date,                            -- inclusive; NULL = open-ended
    amount          numeric(14, 2) NOT NULL CHECK (amount >= 0),
    source          text,                            -- the file it came from
    imported_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fee_schedules_period CHECK (effective_to IS NULL OR effective_to >= effective_from),
    UNIQUE (payer_id, code, modifier, effective_from)
);
