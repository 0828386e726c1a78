select
    person_id,
    timezone
from {{ ref('stg_tracker__people') }}
