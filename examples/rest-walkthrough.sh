#!/usr/bin/env bash
# The FHIR REST core end to end with curl, against a server started with:
#   dotnet run --project src/FhirPriorAuth.Server
# and a token in $TOKEN (README, "Get a token").
set -euo pipefail
: "${TOKEN:?set TOKEN first (README: Get a token)}"
BASE=${BASE:-http://localhost:5080/fhir}
HERE=$(dirname "$0")
J='Content-Type: application/fhir+json'
A="Authorization: Bearer $TOKEN"

curl -s "$BASE/metadata" | head -c 300; echo
patient=$(curl -s -H "$A" -X POST "$BASE/Patient" -H "$J" -d @"$HERE/patient.json")
id=$(echo "$patient" | sed -E 's/.*"id":"([^"]+)".*/\1/')
echo "created Patient/$id"
curl -s -H "$A" "$BASE/Patient/$id"; echo
sed "s/PATIENT_ID/$id/" "$HERE/claim.json" | curl -s -H "$A" -X POST "$BASE/Claim" -H "$J" -d @- ; echo
curl -s -H "$A" "$BASE/Claim?patient=Patient/$id&use=preauthorization"; echo
curl -s -H "$A" "$BASE/Patient?identifier=https://blueharbor.example.org/member-id|M123456789"; echo
curl -s -H "$A" "$BASE/Patient/$id/_history"; echo
