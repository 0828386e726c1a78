-- Hourly weather per person and location, UTC instants (the client asks Open-Meteo for GMT).
create table if not exists raw.open_meteo__hourly (
    person_id text not null,
    location_name text not null,
    latitude double precision not null,
    longitude double precision not null,
    location_timezone text not null,
    observed_at timestamptz not null,
    temperature_2m real,
    apparent_temperature real,
    precipitation real,
    rain real,
    relative_humidity_2m real,
    wind_speed_10m real,
    weather_code smallint,
    is_day smallint,
    sunshine_duration real,
    endpoint text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, location_name, observed_at)
);
