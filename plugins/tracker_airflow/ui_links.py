"""Links from the Airflow UI to the dbt docs site (lineage), the local report and Metabase (gold tables)."""

from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin


class TrackerLinksPlugin(AirflowPlugin):
    name = "tracker_links"
    external_views = [
        {
            "name": "dbt docs (lineage)",
            "href": os.environ.get("TRACKER_DOCS_URL", "http://127.0.0.1:28081"),
            "destination": "nav",
            "category": "browse",
            "url_route": "tracker_dbt_docs",
        },
        {
            "name": "Dashboards (report)",
            "href": os.environ.get("TRACKER_REPORT_URL",
                                   os.environ.get("TRACKER_DOCS_URL", "http://127.0.0.1:28081") + "/report/"),
            "destination": "nav",
            "category": "browse",
            "url_route": "tracker_report",
        },
        {
            "name": "Metabase",
            "href": os.environ.get("TRACKER_METABASE_URL", "http://127.0.0.1:3000"),
            "destination": "nav",
            "category": "browse",
            "url_route": "tracker_metabase",
        },
    ]
