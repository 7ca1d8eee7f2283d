-- sori RDS schema, version 1. utf8mb4 throughout (Hangul, emoji, accents); DATETIME(6) values are UTC.
-- Runs on MariaDB >= 10.5 (local) and MySQL 8 (RDS). `rank` is reserved in MySQL 8: always quote it.
-- Applied by sori.stores.mysql.migrate(); statements are idempotent so a re-run after a partial apply is safe.

CREATE TABLE IF NOT EXISTS artists (
  id           VARCHAR(64)   NOT NULL,                 -- Spotify artist id
  name         VARCHAR(512)  NOT NULL,                 -- display name, as Spotify spells it
  name_norm    VARCHAR(512)  NOT NULL,                 -- sori.text.normalize(name): the lookup key
  image_url    VARCHAR(1024) NULL,
  genres       JSON          NULL,                     -- JSON array of strings (NULL: never known)
  popularity   SMALLINT      NULL,                     -- 0..100; NULL in Spotify development mode
  followers    BIGINT        NULL,                     -- NULL in Spotify development mode
  source       VARCHAR(32)   NOT NULL,                 -- how it entered: catalog | chart | search | listening | ...
  created_at   DATETIME(6)   NOT NULL,
  refreshed_at DATETIME(6)   NULL,                     -- last full refresh; NULL = never (stalest of all)
  PRIMARY KEY (id),
  KEY ix_artists_name_norm (name_norm(191)),
  KEY ix_artists_refreshed_at (refreshed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Curated and learned alternative names ("방탄" -> BTS). alias_norm is sori.text.normalize(alias).
CREATE TABLE IF NOT EXISTS artist_aliases (
  alias_norm VARCHAR(191) NOT NULL,
  artist_id  VARCHAR(64)  NOT NULL,
  source     VARCHAR(32)  NOT NULL,                    -- curated | chatbot | ...
  created_at DATETIME(6)  NOT NULL,
  PRIMARY KEY (alias_norm, artist_id),
  KEY ix_aliases_artist (artist_id),
  CONSTRAINT fk_aliases_artist FOREIGN KEY (artist_id) REFERENCES artists (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Related artists, one full set per generation. Readers only ever see the generation that
-- related_generation points at; a build writes a new generation and flips the pointer in one transaction.
CREATE TABLE IF NOT EXISTS related_artists (
  generation INT UNSIGNED NOT NULL,
  artist_id  VARCHAR(64)  NOT NULL,
  related_id VARCHAR(64)  NOT NULL,
  `rank`     SMALLINT UNSIGNED NOT NULL,               -- 1 = most similar
  score      DOUBLE       NOT NULL,
  reason     JSON         NULL,                        -- e.g. {"shared": ["Top 50 - Korea"], "features": ["energy"]}
  built_at   DATETIME(6)  NOT NULL,
  PRIMARY KEY (generation, artist_id, `rank`),
  UNIQUE KEY ux_related_pair (generation, artist_id, related_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per build: allocates generation numbers (AUTO_INCREMENT, so concurrent builders never collide)
-- and records how each build ended.
CREATE TABLE IF NOT EXISTS related_builds (
  generation  INT UNSIGNED NOT NULL AUTO_INCREMENT,
  status      VARCHAR(16)  NOT NULL,                   -- building | current | previous | retired
  started_at  DATETIME(6)  NOT NULL,
  built_at    DATETIME(6)  NULL,
  finished_at DATETIME(6)  NULL,
  row_count   INT UNSIGNED NULL,
  PRIMARY KEY (generation)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The pointer: a single row (id = 1) naming the generation readers see. NULL generation = nothing built yet.
CREATE TABLE IF NOT EXISTS related_generation (
  id         TINYINT UNSIGNED NOT NULL,
  generation INT UNSIGNED NULL,
  built_at   DATETIME(6)  NULL,
  flipped_at DATETIME(6)  NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO related_generation (id, generation, built_at, flipped_at) VALUES (1, NULL, NULL, NULL);
