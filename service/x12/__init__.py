"""X12 gateway: 835, 277 and 277CA files in, contract records out (pure parsing: no broker, no database).

    result = parse_bytes(data, source="clearinghouse-a")
    result.events         # RemittanceEvent | StatusEvent | ProviderAdjustmentEvent, in file order
    result.records()      # the same with their topic and key
    result.record_errors  # one RecordError per claim / adjustment / status that could not be built
    result.issues         # file level: fatal issues (the file is rejected) and warnings
    result.exit_code      # 0 parsed fully, 1 some records rejected, 2 the file rejected

pyx12 (its 5010 maps) validates the structure; see `parse.py` for the walk, `issues.py` for what rejects a file
and what rejects a record, `remittance.py` and `claim_status.py` for how segments become records.
"""

from service.x12.business_key import business_key
from service.x12.issues import Issue, RecordError
from service.x12.parse import Counts, FileRejected, ParseResult, events_from_file, parse_bytes, parse_file
from service.x12.records import Outbound, X12Record, outbound

__all__ = [
    "Counts", "FileRejected", "Issue", "Outbound", "ParseResult", "RecordError", "X12Record", "business_key",
    "events_from_file", "outbound", "parse_bytes", "parse_file",
]
