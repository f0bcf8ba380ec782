-- The lab's `playout` database: Icareus Playout's configuration, EPG and replication status,
-- modelled on the public facts in shared/PLAYOUT-FACTS.md. Every table has a primary key
-- (Slony-I replicates only tables with one). Configuration tables reference each other with
-- foreign keys; the per-server tables (ts_outputs, replication_status) are never replicated and
-- refer to configuration rows by value only, because Slony empties and refills the
-- configuration tables on the secondary with foreign-key triggers off.
-- The order of CONFIG_TABLES / EPG_TABLES / LOCAL_TABLES in pmc/lab/playout/__init__.py
-- follows this file.

-- Server > Settings > General (and other single values): key/value pairs.
CREATE TABLE general_settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    description text NOT NULL DEFAULT ''
);

-- The networks tree: "Actual" and "Other" networks, their table generation flags and EIT rates.
CREATE TABLE networks (
    id                  integer PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('actual', 'other')),
    network_id          integer NOT NULL CHECK (network_id BETWEEN 0 AND 65535),
    original_network_id integer NOT NULL CHECK (original_network_id BETWEEN 0 AND 65535),
    name                text NOT NULL,
    generate_pat        boolean NOT NULL DEFAULT true,
    generate_pmt        boolean NOT NULL DEFAULT true,
    generate_nit        boolean NOT NULL DEFAULT true,
    generate_sdt        boolean NOT NULL DEFAULT true,
    generate_bat        boolean NOT NULL DEFAULT false,
    generate_tdt        boolean NOT NULL DEFAULT true,
    generate_tot        boolean NOT NULL DEFAULT true,
    generate_eit_pf     boolean NOT NULL DEFAULT true,
    generate_eit_schedule boolean NOT NULL DEFAULT true,
    eit_pf_rate_ms      integer NOT NULL DEFAULT 2000,
    eit_schedule_rate_ms integer NOT NULL DEFAULT 10000,
    UNIQUE (kind, network_id)
);

-- Subnetworks: the transport streams of a network (TS ids 100, 101, …).
CREATE TABLE transport_streams (
    id          integer PRIMARY KEY,
    network     integer NOT NULL REFERENCES networks (id),
    ts_id       integer NOT NULL CHECK (ts_id BETWEEN 0 AND 65535),
    name        text NOT NULL,
    bitrate_bps bigint NOT NULL DEFAULT 31668449,
    UNIQUE (network, ts_id)
);

-- EIT data sources: the default one and dedicated ones with their settings.
CREATE TABLE eit_sources (
    id       integer PRIMARY KEY,
    name     text NOT NULL UNIQUE,
    kind     text NOT NULL CHECK (kind IN
                 ('default', 'xmltv', 'tv-anytime', 'tribune', 'excel', 'asi', 'icareus-xml')),
    settings jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The DVB services repository.
CREATE TABLE dvb_services (
    service_id       integer PRIMARY KEY CHECK (service_id BETWEEN 0 AND 65535),
    name             text NOT NULL,
    provider         text NOT NULL DEFAULT '',
    service_type     integer NOT NULL DEFAULT 1,
    transport_stream integer REFERENCES transport_streams (id),
    eit_source       integer REFERENCES eit_sources (id),
    pmt_pid          integer,
    pcr_pid          integer
);

CREATE TABLE network_services (
    network    integer NOT NULL REFERENCES networks (id),
    service_id integer NOT NULL REFERENCES dvb_services (service_id),
    PRIMARY KEY (network, service_id)
);

-- PSI/SI tables generated per network, and their descriptors.
CREATE TABLE psi_si_tables (
    id            integer PRIMARY KEY,
    network       integer NOT NULL REFERENCES networks (id),
    table_kind    text NOT NULL CHECK (table_kind IN
                      ('PAT', 'PMT', 'NIT', 'SDT', 'BAT', 'TDT', 'TOT', 'EIT-PF', 'EIT-SCHEDULE')),
    pid           integer NOT NULL,
    repetition_ms integer NOT NULL,
    version       integer NOT NULL DEFAULT 0,
    UNIQUE (network, table_kind)
);

CREATE TABLE descriptors (
    id         integer PRIMARY KEY,
    psi_table  integer NOT NULL REFERENCES psi_si_tables (id),
    service_id integer REFERENCES dvb_services (service_id),
    tag        integer NOT NULL CHECK (tag BETWEEN 0 AND 255),
    name       text NOT NULL,
    payload    bytea NOT NULL,
    position   integer NOT NULL DEFAULT 0
);

-- DSM-CC carousels (object or data), their files, AIT applications and stream events.
CREATE TABLE carousels (
    id          integer PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('object', 'data')),
    pid         integer NOT NULL UNIQUE,
    bitrate_bps integer NOT NULL,
    service_id  integer REFERENCES dvb_services (service_id),
    root_dir    text NOT NULL
);

CREATE TABLE carousel_files (
    id       integer PRIMARY KEY,
    carousel integer NOT NULL REFERENCES carousels (id),
    path     text NOT NULL,
    size     bigint NOT NULL,
    sha256   text NOT NULL,
    UNIQUE (carousel, path)
);

CREATE TABLE ait_applications (
    id              integer PRIMARY KEY,
    carousel        integer NOT NULL REFERENCES carousels (id),
    organisation_id integer NOT NULL,
    application_id  integer NOT NULL,
    name            text NOT NULL,
    app_type        text NOT NULL CHECK (app_type IN ('mhp', 'hbbtv', 'mheg5')),
    control_code    text NOT NULL DEFAULT 'AUTOSTART',
    url             text NOT NULL DEFAULT '',
    UNIQUE (carousel, organisation_id, application_id)
);

CREATE TABLE stream_events (
    id         integer PRIMARY KEY,
    carousel   integer NOT NULL REFERENCES carousels (id),
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('DIN', 'NPT')),
    event_id   integer NOT NULL,
    payload    text NOT NULL DEFAULT '',
    fire_at_ms bigint
);

-- Playlists per service (one active, the rest in the repository) and their items.
CREATE TABLE playlists (
    id         integer PRIMARY KEY,
    service_id integer NOT NULL REFERENCES dvb_services (service_id),
    name       text NOT NULL,
    active     boolean NOT NULL DEFAULT false,
    default_video text NOT NULL DEFAULT ''
);

CREATE TABLE playlist_items (
    id          integer PRIMARY KEY,
    playlist    integer NOT NULL REFERENCES playlists (id),
    position    integer NOT NULL,
    file_path   text NOT NULL,
    duration_ms bigint NOT NULL,
    start_time  timestamptz,
    UNIQUE (playlist, position)
);

-- CAS: PSI/SI signalling only.
CREATE TABLE cas_settings (
    id           integer PRIMARY KEY,
    service_id   integer NOT NULL REFERENCES dvb_services (service_id),
    ca_system_id integer NOT NULL,
    ca_pid       integer NOT NULL,
    private_data bytea NOT NULL DEFAULT '\x'::bytea,
    free_ca_mode boolean NOT NULL DEFAULT true
);

-- EPG: the events of each service.
CREATE TABLE eit_event (
    service_id    integer NOT NULL REFERENCES dvb_services (service_id),
    event_id      integer NOT NULL CHECK (event_id BETWEEN 0 AND 65535),
    start_time    timestamptz NOT NULL,
    duration      integer NOT NULL,
    content_type  integer NOT NULL DEFAULT 0,
    free_ca_mode  boolean NOT NULL DEFAULT false,
    original_id   text NOT NULL DEFAULT '',
    lang_code     text NOT NULL DEFAULT 'fin',
    name          text NOT NULL,
    short_info    text NOT NULL DEFAULT '',
    extended_info text NOT NULL DEFAULT '',
    country_code  integer NOT NULL DEFAULT 902,
    rating        integer NOT NULL DEFAULT 0,
    position      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (service_id, event_id)
);

-- Per server, never replicated: TS outputs (configured on each server separately) …
CREATE TABLE ts_outputs (
    id           integer PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('udp', 'asi')),
    network_id   integer NOT NULL,
    ts_id        integer NOT NULL,
    address      text,
    port         integer,
    asi_card     integer,
    asi_port     integer,
    bitrate_bps  bigint NOT NULL,
    enabled      boolean NOT NULL DEFAULT true
);

-- … and the copy config status of this server.
CREATE TABLE replication_status (
    id         integer PRIMARY KEY CHECK (id = 1),
    status     text NOT NULL CHECK (status IN ('running', 'stopped')),
    start_time timestamptz,
    stop_time  timestamptz,
    peer       text
);

INSERT INTO replication_status (id, status) VALUES (1, 'stopped');
