-- Chinese full-text search over published content. Text is segmented by the application
-- (jieba words plus character pairs, space separated) into *_terms columns; the 'simple'
-- configuration splits on the spaces, and title terms weigh more than body terms.

CREATE TABLE search_documents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    org_code TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT NOT NULL,
    title_terms TEXT NOT NULL,
    terms TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title_terms), 'A') || setweight(to_tsvector('simple', terms), 'B')
    ) STORED,
    UNIQUE (kind, ref_id)
);
CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv);
