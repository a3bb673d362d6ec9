Feature: Receipts (status files)
  Every upload is answered in the uploader's /out by status_<service>_<FTPTransactionID>_<code>.xml:
  1 "File delivered", 2 "File Accepted", 3 "File exposed" (with a reply file), 0 for an error.
  Files stay in /out for 30 days.

  @GW-STAT-01 @must
  Scenario: Receipts are named and written as published (declaration, server path, SKATTransactionId shape)
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    When "moces" receives receipts 1 and 2 for it
    Then every receipt for it is named status_<service>_<file>_<code>.xml
    And every receipt for it carries the published XML elements

  @GW-STAT-02 @must
  Scenario: An accepted file gets receipt 1, then 2
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    When "moces" receives receipts 1 and 2 for it
    Then receipt 1 is not later than receipt 2
    And no receipt 0 came for it

  @GW-STAT-02 @must @needs-control
  Scenario: A rejected file gets receipt 1, then 0 with the error code
    Given the backend rejects files in "eKapital.Rente.Udlaan" with "RECORD_LENGTH_INCORRECT"
    And "moces" has uploaded a new file to "eKapital.Rente.Udlaan"
    When "moces" receives receipts 1 and 0 for it
    Then receipt 0 carries the error code "RECORD_LENGTH_INCORRECT"

  @GW-STAT-02 @must @needs-control
  Scenario: A file the backend answers gets receipts 1, 2 and 3 with a reply file
    Given the backend answers files in "eKapital.Rente.Udlaan" with a reply file
    And "moces" has uploaded a new file to "eKapital.Rente.Udlaan"
    When "moces" receives receipts 1, 2 and 3 for it
    Then receipt 3 names a reply file that "moces" can download from /out

  @GW-STAT-02 @must @needs-control
  Scenario: A file answered with an error list and an advice list gets two receipts 3
    Given the backend answers files in "eKapital.Rente.Udlaan" with an error list and an advice list
    And "moces" has uploaded a new file to "eKapital.Rente.Udlaan"
    When "moces" receives receipts 1, 2 and 3 for it
    Then "moces" finds 2 receipts 3 for it in /out, each naming a file it can download

  @GW-STAT-03 @must @needs-control
  Scenario: Receipts leave /out after 30 days
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipts 1 and 2 for it
    When 29 days pass
    Then the receipts for it are still in the /out of "moces"
    When 2 days pass
    Then the receipts for it are gone from the /out of "moces"

  @GW-STAT-04 @must @needs-control
  Scenario: A whole fixed-record file sent in ASCII mode is accepted
    Given the backend checks "eKapital.Rente.Udlaan" as a fixed-record service with records of 230 characters
    And "moces" has uploaded a fixed-record file of 230-character records to "eKapital.Rente.Udlaan" whole
    When "moces" receives receipts 1 and 2 for it
    Then no receipt 0 came for it

  @GW-STAT-04 @must @needs-control
  Scenario Outline: A fixed-record file <fault> gets receipt 0 with <code>
    Given the backend checks "eKapital.Rente.Udlaan" as a fixed-record service with records of 230 characters
    And "moces" has uploaded a fixed-record file of 230-character records to "eKapital.Rente.Udlaan" <fault>
    When "moces" receives receipts 1 and 0 for it
    Then receipt 0 names the fixed-record fault "<code>"
    And receipt 0 describes "<code>" in SKAT's published Danish words

    Examples:
      | fault                     | code                            |
      | in binary mode            | FILE_NOT_UPLOADED_IN_ASCII_MODE |
      | with a short record       | RECORD_LENGTH_INCORRECT         |
      | without its start record  | FIRST_RECORD_INCORRECT          |
      | without its end record    | LAST_RECORD_INCORRECT           |
      | with a wrong record count | LAST_RECORD_INCORRECT           |
