# syntax=docker/dockerfile:1
# Tracker's Airflow image: the official Airflow image plus this project (DAGs, plugins, dbt project
# and the `tracker` package) installed with exactly the versions pinned in requirements.lock.
FROM apache/airflow:3.3.2-python3.11

# The official image keeps its Python environment in /home/airflow/.local (a virtualenv on PATH)
# and refuses pip as root: install everything as the unprivileged airflow user (uid 50000, gid 0).
USER airflow
WORKDIR /opt/airflow

ENV AIRFLOW_HOME=/opt/airflow \
    TRACKER_HOME=/opt/airflow \
    TRACKER_STATE_DIR=/opt/airflow/.state \
    DBT_PROJECT_DIR=/opt/airflow/dbt_project \
    DBT_PROFILES_DIR=/opt/airflow/dbt_project \
    DBT_EXECUTABLE=/home/airflow/.local/bin/dbt \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# 1) Third-party dependencies, in their own layer (rebuilt only when the lock or pyproject changes).
#    requirements.lock pins apache-airflow itself (and its core/task-sdk/providers), which the base
#    image already ships at the same 3.3.2. `pip install -r requirements.lock` would reinstall and
#    fight with the image's own install, so the lock is used as a *constraints* file instead: pip
#    installs the project's `stack` extra and anything it pulls in at exactly the locked versions,
#    leaves matching packages that the image already has alone, and cannot move Airflow, because
#    "apache-airflow==3.3.2" is also named explicitly (the pattern the Airflow image docs recommend).
#    A placeholder package lets pip resolve ".[stack]" before the real sources are copied; it is
#    uninstalled right away. The stack extra includes the Celery provider (celery, kombu, redis, flower)
#    at the locked version: the same image runs LocalExecutor by default and the Celery workers of the
#    compose scale-out profile (docs/scale-out.md); the import check fails the build if it went missing.
COPY --chown=airflow:0 requirements.lock pyproject.toml ./
RUN mkdir -p include/tracker \
    && touch include/tracker/__init__.py \
    && pip install --no-cache-dir -c requirements.lock "apache-airflow==3.3.2" ".[stack]" \
    && pip uninstall -y tracker \
    && rm -rf include build \
    && python -c "import airflow.providers.celery.executors.celery_executor"

# 2) The tracker package itself, editable so that /opt/airflow/include (= TRACKER_HOME/include) is
#    the code that runs, exactly as in a local checkout. --no-deps: everything is in place already.
COPY --chown=airflow:0 include/ ./include/
RUN pip install --no-cache-dir --no-deps -e . \
    && python -c "import tracker.settings"

# 3) DAGs, plugins and the dbt project. The state folder, the simple-auth passwords folder and the
#    logs folder are created here, owned by airflow, so the named volumes mounted over them in
#    docker-compose.yml start out writable by the airflow user.
COPY --chown=airflow:0 dags/ ./dags/
COPY --chown=airflow:0 plugins/ ./plugins/
COPY --chown=airflow:0 dbt_project/ ./dbt_project/
COPY --chown=airflow:0 dashboards/ ./dashboards/
RUN mkdir -p /opt/airflow/.state/dbt /opt/airflow/auth /opt/airflow/logs

# 4) The manifest the dbt DAG is rendered from (Cosmos LoadMode.DBT_MANIFEST), built into the image:
#    `dbt parse` reads the profile but never connects, so placeholder credentials are enough here.
ENV TRACKER_DBT_MANIFEST=/opt/airflow/dbt_manifest/manifest.json
RUN TRACKER_PG_HOST=build TRACKER_PG_PASSWORD=build dbt parse --project-dir dbt_project \
        --profiles-dir dbt_project --target-path /opt/airflow/dbt_manifest --log-path /tmp/dbt-logs \
    && test -s "$TRACKER_DBT_MANIFEST"
