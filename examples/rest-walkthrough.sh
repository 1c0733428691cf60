#!/usr/bin/env bash
# The FHIR REST core end to end with curl, against a server started with:
#   dotnet run --project src/FhirPriorAuth.Server
set -euo pipefail
BASE=${BASE:-http://localhost:5080/fhir}
HERE=$(dirname "$0")
J='Content-Type: application/fhir+json'

curl -s "$BASE/metadata" | head -c 300; echo
patient=$(curl -s -X POST "$BASE/Patient" -H "$J" -d @"$HERE/patient.json")
id=$(echo "$patient" | sed -E 's/.*"id":"([^"]+)".*/\1/')
echo "created Patient/$id"
curl -s "$BASE/Patient/$id"; echo
sed "s/PATIENT_ID/$id/" "$HERE/claim.json" | curl -s -X POST "$BASE/Claim" -H "$J" -d @- ; echo
curl -s "$BASE/Claim?patient=Patient/$id&use=preauthorization"; echo
curl -s "$BASE/Patient?identifier=https://blueharbor.example.org/member-id|M123456789"; echo
curl -s "$BASE/Patient/$id/_history"; echo
