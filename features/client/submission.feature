Feature: The client's submissions and receipts
  What the client sends and how it treats the answers: permitted folders, ASCII mode for
  fixed-record formats, unique names, receipts fetched unchanged, patience during outages.

  @CL-UP-01 @must
  Scenario: The client uploads the whole file into the folder it was asked to
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    And the file arrived whole in "FTPSGW.Heartbeat"

  @CL-UP-01 @must
  Scenario: A fixed-record file goes up in ASCII mode
    Given the backend requires ASCII mode for "eKapital.Rente.Udlaan"
    When the client uploads a new fixed-record file to "eKapital.Rente.Udlaan"
    Then the client reports success
    And the gateway recorded the upload as made in ASCII mode

  @CL-NAME-01 @must
  Scenario: Every submission has a new name
    When the client uploads 2 new files to "FTPSGW.Heartbeat"
    Then the client reports success
    And the gateway saw 2 uploads under 2 different names

  @CL-NAME-01 @must
  Scenario: The client refuses to submit a name a second time
    Given the client has uploaded a new file to "FTPSGW.Heartbeat"
    When the client is asked to upload a file with the same name to "FTPSGW.Heartbeat"
    Then the client reports failure
    And the gateway saw the file uploaded exactly once

  @CL-STAT-01 @must
  Scenario: The client fetches receipts 1 and 2 unchanged
    Given the client has uploaded a new file to "FTPSGW.Heartbeat"
    And the gateway has put receipts 1 and 2 for it in /out
    When the client fetches its receipts
    Then the client reports success
    And the client's receipt folder holds receipts 1 and 2 for it, byte for byte

  @CL-STAT-01 @must
  Scenario: The client fetches a status_0 unchanged
    Given the backend rejects files in "eKapital.Rente.Udlaan" with "RECORD_LENGTH_INCORRECT"
    And the client has uploaded a new fixed-record file to "eKapital.Rente.Udlaan"
    And the gateway has put receipts 1 and 0 for it in /out
    When the client fetches its receipts
    Then the client reports success
    And the client's receipt folder holds receipts 1 and 0 for it, byte for byte

  @CL-BACK-01 @must
  Scenario: During a backend outage the client waits without resubmitting or failing
    Given the backend is down
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    When 7 hours pass
    And the client fetches its receipts
    Then the client reports success
    And the gateway saw the file uploaded exactly once
    When the backend comes back
    And the gateway has put receipts 1 and 2 for it in /out
    And the client fetches its receipts
    Then the client reports success
    And the client's receipt folder holds receipts 1 and 2 for it, byte for byte
